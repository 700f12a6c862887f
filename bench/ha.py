"""Failover time of leader election: two `kubelite server`s on one etcd, the leader killed (-9),
until the other acts. Figures only, no assertions.

Each try: the leader (holder of kube-scheduler and kube-controller-manager) is SIGKILLed, and at
once a Deployment is created through the other server. Two times are taken from the kill, from
the objects' own timestamps (this machine's clock): the standby holding both Leases (their
acquireTime) and its scheduler acting (the eventTime of its FailedScheduling event for the
Deployment's pod, which its controllers made; there are no nodes). The killed server is
then started again on its data dir (a new identity) and stands by for the next try. Printed
beside the floor client-go's timing imposes, lease duration + retry period (15 + 2 s), and its
worst case (the standby's last look at the record may come a jittered retry, up to
2 s * 2.2, after the last renewal, and its next try another).

Then (as root: machine namespaces) pod creates/s with 64 clients on three `kubelite server`s
on one embedded etcd cluster (`--cluster-init` and two joins, tests/helpers/server_machines.py),
the clients all on one server beside the same clients spread over the three (as agents and a
load balancer spread them), in alternating rounds on the same cluster; each server's CPU per
create is printed too (three servers share the 2 cores of a small machine).

    .venv/bin/python bench/ha.py [--tries 5] [--rounds 2] [--skip-failover] [--skip-creates]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import LoadProcesses, Target, _creates_process, pct, server_cpu_seconds, target_of  # noqa: E402
from tests.helpers.cluster import Server, start_server  # noqa: E402
from tests.helpers.etcd import start_etcd  # noqa: E402
from tests.helpers.leaders import LEASES, both_held, identity_of, share_pki  # noqa: E402
from tests.helpers.server_machines import server_machines  # noqa: E402
from tests.helpers.wait import until  # noqa: E402

LEASE_DURATION, RETRY_PERIOD, JITTER = 15.0, 2.0, 1.2


def client_go_failover(trials: int = 100_000, at_expiry: bool = False) -> list[float]:
    """Failover times of client-go's leader election itself, by simulation, for the same
    parameters and what is timed here, both leases: for each, the leader renews every
    RETRY_PERIOD (each lease on its own phase) until it is killed; the standby polls every
    RETRY_PERIOD plus up to JITTER times it (JitterUntil, sliding), notes when it last saw the
    record change (observedTime), and takes the lease at its first poll past observedTime +
    LEASE_DURATION. A try ends when the standby holds both. `at_expiry`: kubelite's elector,
    which tries again as observedTime + LEASE_DURATION passes when that comes before its next
    poll (client/leaderelection.py)."""
    rng = random.Random(1)

    def one_lease(killed: float) -> float:
        phase = rng.uniform(0, RETRY_PERIOD)  # when the leader renews this lease
        t = killed - 4 * LEASE_DURATION + rng.uniform(0, RETRY_PERIOD)
        seen, seen_at = -1.0, t
        while True:
            record = ((min(t, killed) - phase) // RETRY_PERIOD) * RETRY_PERIOD + phase  # last renewal
            if record != seen:
                seen, seen_at = record, t
            elif t > seen_at + LEASE_DURATION:
                return t - killed
            wait = RETRY_PERIOD + rng.uniform(0, RETRY_PERIOD * JITTER)
            if at_expiry and t < seen_at + LEASE_DURATION < t + wait:
                wait = seen_at + LEASE_DURATION - t + 0.01
            t += wait

    return [max(one_lease(100.0), one_lease(100.0)) for _ in range(trials)]


def stamp(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def acquired(server: Server, holder: str) -> float | None:
    """When `holder` took the later of the two Leases (their acquireTime), if it holds both."""
    out = server.kubectl("get", "leases", "-n", "kube-system", "-o", "json", check=False)
    if out.returncode != 0:
        return None
    specs = [i["spec"] for i in json.loads(out.stdout)["items"] if i["metadata"]["name"] in LEASES]
    if len(specs) != len(LEASES) or any(s.get("holderIdentity") != holder for s in specs):
        return None
    return max(stamp(s["acquireTime"]) for s in specs)


def scheduler_acted(server: Server, app: str) -> float | None:
    """When the scheduler first reported on the Deployment's pod (its FailedScheduling event's
    eventTime: there are no nodes). The pod exists, so the controllers acted before."""
    out = server.kubectl("get", "events", "--field-selector", "reason=FailedScheduling", "-o", "json",
                         check=False)
    if out.returncode != 0:
        return None
    times = [stamp(e.get("eventTime") or e["firstTimestamp"]) for e in json.loads(out.stdout)["items"]
             if e["involvedObject"]["name"].startswith(app)]
    return min(times) if times else None


def one_try(servers: list[Server], start: int, app: str) -> tuple[float, float, Server]:
    """(seconds from the kill to both Leases taken, to the new scheduler acting), the killed one."""
    held = until(lambda: both_held(servers[0]) or both_held(servers[1]), timeout=60, what="both leases held")
    ids = {identity_of(s): s for s in servers}
    leader = ids[held["kube-scheduler"]]
    standby = next(s for s in servers if s is not leader)
    mine = until(lambda: identity_of(standby), what="the standby's identity")
    time.sleep(1.0 + (start % 3) * 0.6)  # a different phase of the renewals each try
    leader.stop(signal.SIGKILL)
    killed = time.time()  # the Lease and event times are this machine's wall clock too
    standby.kubectl("create", "deployment", app, "--image=busybox")
    taken = until(lambda: acquired(standby, mine), timeout=120, interval=0.2, what="the leases taken")
    acting = until(lambda: scheduler_acted(standby, app), timeout=60, interval=0.2, what="the scheduler acting")
    return taken - killed, acting - killed, leader


def spread_creates(load: LoadProcesses, targets: list[Target], prefix: str, n: int,
                   clients: int) -> tuple[float, list[float]]:
    """Create `n` pods over `clients` connections, the load processes taking the `targets` in
    turn: (rate, latencies)."""
    procs = load.procs
    start_at = time.perf_counter() + 0.5
    futures = [load.pool.submit(_creates_process, targets[p % len(targets)], prefix,
                                list(range(p, n, procs)), clients // procs + (p < clients % procs), start_at)
               for p in range(procs)]
    results = [f.result() for f in futures]
    began, ended = min(r[0] for r in results), max(r[1] for r in results)
    return n / (ended - began), [lat for r in results for lat in r[2]]


def three_server_creates(rounds: int, n: int = 3000, clients: int = 64, procs: int = 3) -> None:
    """Pod creates/s on three servers of one embedded etcd cluster: one server taking every
    client, then the clients spread over the three, in alternating rounds."""
    with tempfile.TemporaryDirectory(prefix="kubelite-ha-three-") as tmp, \
            server_machines(Path(tmp), 3) as sm:
        first = sm.init(sm.machines[0])
        servers = [first, sm.join(sm.machines[1], first), sm.join(sm.machines[2], first)]
        targets = [target_of(s) for s in servers]
        load = LoadProcesses(procs)
        try:
            for r in range(rounds):
                for name, chosen in (("one server", targets[:1]), ("three servers", targets)):
                    cpu0 = [server_cpu_seconds(s.process.pid) for s in servers]
                    rate, lat = spread_creates(load, chosen, f"r{r}-{len(chosen)}", n, clients)
                    cpu = [(server_cpu_seconds(s.process.pid) - c) / n * 1000 for s, c in zip(servers, cpu0, strict=True)]
                    print(f"round {r + 1}, {name} (3 etcd members), pod creates/s with {clients} clients: "
                          f"{rate:,.0f}; p50 {pct(lat, .5) * 1000:.1f} ms; server CPU per create "
                          f"{' + '.join(f'{c:.2f}' for c in cpu)} ms", flush=True)
        finally:
            load.close()


def failover(tries: int) -> None:
    with tempfile.TemporaryDirectory(prefix="kubelite-ha-") as tmp:
        root = Path(tmp)
        (root / "etcd").mkdir()
        endpoint, stop_etcd = start_etcd(str(root / "etcd"))
        url = "etcd://" + endpoint.split("://", 1)[1]
        servers: list[Server] = []
        try:
            servers.append(start_server(root / "a" / "data", "--datastore-endpoint", url))
            share_pki(servers[0].data_dir, root / "b" / "data")
            servers.append(start_server(root / "b" / "data", "--datastore-endpoint", url))
            results = []
            for n in range(tries):
                leases, acting, killed = one_try(servers, n, f"ha{n}")
                results.append((leases, acting))
                print(f"try {n + 1}: leases taken {leases:.1f} s, new scheduler acting {acting:.1f} s "
                      "after the kill", flush=True)
                i, old = servers.index(killed), identity_of(killed)
                servers[i] = start_server(killed.data_dir, "--datastore-endpoint", url, port=killed.port)
                until(lambda s=servers[i], old=old: identity_of(s) != old, what="the restarted server's candidate")  # type: ignore[misc]
        finally:
            for s in servers:
                s.stop()
            stop_etcd()
    times = [a for _, a in results]
    worst = LEASE_DURATION + 2 * RETRY_PERIOD * (1 + JITTER)
    print(f"failover (leader killed -> new leader acting), p50 over {len(times)} tries: "
          f"{statistics.median(times):.1f} s (leases taken p50 {statistics.median(r[0] for r in results):.1f} s; "
          f"min {min(times):.1f} / max {max(times):.1f} s); floor lease duration + retry = "
          f"{LEASE_DURATION + RETRY_PERIOD:.0f} s, client-go's worst case {worst:.1f} s", flush=True)
    for who, simulated in (("client-go's own timing", client_go_failover()),
                           ("kubelite's elector (a try as the lease runs out)", client_go_failover(at_expiry=True))):
        print(f"{who} for these parameters and both leases (simulated, {len(simulated):,} kills): p50 "
              f"{statistics.median(simulated):.1f} s, min {min(simulated):.1f} s, max {max(simulated):.1f} s; "
              "the scheduler acts a moment after it holds its lease", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tries", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--skip-failover", action="store_true")
    p.add_argument("--skip-creates", action="store_true")
    args = p.parse_args()
    if not args.skip_failover:
        failover(args.tries)
    if not args.skip_creates:
        three_server_creates(args.rounds)


if __name__ == "__main__":
    main()
