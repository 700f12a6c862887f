"""Time from a machine's death to its pods Ready elsewhere, with real agents on three machines
(network namespaces on a test LAN, tests/helpers/machines.py), for vxlan and host-gw.

Each run: a 3-replica Deployment whose pods tolerate an unreachable node for `--toleration`
seconds; one machine holding one of them dies (agent SIGKILLed, LAN link down); the figures are
the time until its node is Unknown and until the Deployment has all its pods Ready on the other
machines again, beside what the settings impose (grace period + toleration; up to a lease
renewal less, as the grace counts from the last heartbeat before the death, and up to 1 s less
again, as the taint's timeAdded is kept in whole seconds, as in Kubernetes). The machine then
comes back for the next run. Polled through kubectl every 0.1 s (a poll costs ~0.1-0.2 s).
Figures only, no assertions.

    .venv/bin/python bench/node_loss.py [--runs 3] [--grace 5] [--toleration 2] [--backend vxlan]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.machines import MachineCluster, machine_cluster  # noqa: E402
from tests.helpers.node_loss import (  # noqa: E402
    all_ready,
    apply,
    deployment,
    kubectl,
    node_state,
    pods,
    ready_elsewhere,
)
from tests.helpers.wait import until  # noqa: E402


def one_run(mc: MachineCluster, app: str, toleration: int) -> tuple[float, float]:
    """(seconds to the node Unknown, seconds to every pod Ready elsewhere) for one death."""
    apply(mc, deployment(app, 3, toleration))
    spread = until(lambda: all_ready(mc, app, 3), timeout=120, what="3 pods ready")
    victim = next(m for m in mc.machines if m.node_name == spread[0]["spec"]["nodeName"])
    died = time.monotonic()
    mc.kill(victim)
    until(lambda: node_state(mc, victim)[0] == "Unknown", timeout=120, interval=0.1, what="node Unknown")
    unknown = time.monotonic() - died
    until(lambda: ready_elsewhere(mc, app, 3, victim), timeout=300, interval=0.1, what="pods ready elsewhere")
    moved = time.monotonic() - died
    mc.revive(victim)
    until(lambda: node_state(mc, victim) == ("True", set()), timeout=60, what="the machine back")
    kubectl(mc, "delete", "deployment", app)
    until(lambda: not pods(mc, f"app={app}"), timeout=60, what="the old pods gone")
    return unknown, moved


def bench(backend: str, runs: int, grace: int, toleration: int) -> None:
    with tempfile.TemporaryDirectory(prefix="kubelite-node-loss-") as tmp, machine_cluster(
            Path(tmp), 3, "--node-monitor-grace-period", str(grace), "--node-monitor-period", "1") as mc:
        lease = max(1, grace * 4 // 5)  # renewed every quarter: several beats per grace period
        for m in mc.machines:
            mc.join(m, "--pod-network", backend, "--node-lease-duration-seconds", str(lease))
        results = [one_run(mc, f"lost{i}", toleration) for i in range(runs)]
    unknown = [u for u, _ in results]
    moved = [m for _, m in results]
    print(f"{backend:8} node Unknown after {statistics.median(unknown):.1f} s (grace {grace} s); "
          f"pods Ready elsewhere after p50 {statistics.median(moved):.1f} s, "
          f"min {min(moved):.1f} / max {max(moved):.1f} s over {runs} runs "
          f"(grace + toleration = {grace + toleration} s)", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--grace", type=int, default=5, help="--node-monitor-grace-period (s)")
    p.add_argument("--toleration", type=int, default=2, help="tolerationSeconds of the pods (s)")
    p.add_argument("--backend", action="append", choices=("vxlan", "host-gw"),
                   help="pod network backend (repeatable; default both)")
    args = p.parse_args()
    for backend in args.backend or ["vxlan", "host-gw"]:
        bench(backend, args.runs, args.grace, args.toleration)


if __name__ == "__main__":
    main()
