"""The dashboard's scheduler explanation of a Pending pod (figures, never assertions).

Times `compute()` (what the worker thread runs per request: decode the feed's Nodes and bound
pods into typed objects, build the scheduler's snapshot, run every filter and score on every
node) for clusters of several sizes, beside its floor: the typed decode alone. Also the first
call's extra cost, importing the scheduler (and numpy) into the API server process.

    .venv/bin/python bench/dashboard_explain.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubelite.api.types import core_v1  # noqa: E402
from kubelite.apiserver.dashboard.explain import compute  # noqa: E402
from tests.unit.apiserver.dashboard.test_explain import NONE, node, pod  # noqa: E402


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    wanted = json.dumps(pod("pending", "500m")).encode()  # fits beside 10 pods of 300m on 4 CPUs
    rss, t0 = rss_mib(), time.perf_counter()
    compute(json.dumps(pod("first", "1")).encode(), [node("n0", "4")], [], NONE)
    print(f"first call (imports the scheduler): {(time.perf_counter() - t0) * 1000:.0f} ms, "
          f"RSS +{rss_mib() - rss:.1f} MiB")
    for nodes_n, pods_n in ((10, 100), (100, 1000), (500, 5000)):
        nodes = [node(f"n{i}", "4") for i in range(nodes_n)]
        pods = [pod(f"p{i}", "300m", f"n{i % nodes_n}") for i in range(pods_n)]
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            out = compute(wanted, nodes, pods, NONE)
            runs.append(time.perf_counter() - t0)
        floors = []
        for _ in range(3):
            t0 = time.perf_counter()
            [msgspec.convert(n, core_v1.Node) for n in nodes]
            [msgspec.convert(p, core_v1.Pod) for p in pods]
            floors.append(time.perf_counter() - t0)
        floor = min(floors)
        print(f"{nodes_n} nodes, {pods_n} bound pods ({out['feasible']} feasible): explanation "
              f"{min(runs) * 1000:.0f}-{max(runs) * 1000:.0f} ms; floor (typed decode alone) {floor * 1000:.0f} ms")


if __name__ == "__main__":
    main()
