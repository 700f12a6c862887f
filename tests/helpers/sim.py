"""Simulated nodes for tests, with heartbeats fast enough for a test's patience."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from kubelite.client import ApiClient
from kubelite.sim import SimCluster, Timings

FAST = Timings(lease_renew_interval=0.5, node_status_interval=2.0)


@asynccontextmanager
async def running_sim(client: ApiClient, count: int, **kw: Any) -> AsyncIterator[SimCluster]:
    """`count` simulated nodes, registered on entry and deleted on exit (even on failure)."""
    sim = SimCluster(client, count, timings=kw.pop("timings", FAST), **kw)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop(delete_nodes=True)


@contextmanager
def sim_nodes_process(kubeconfig: Path, count: int, prefix: str, log_path: Path,
                      *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """`kubelite sim-nodes` as a process of its own, talking to the server `kubeconfig` names
    (so the test's own process stays free for kubectl); stopped on exit (its nodes stay)."""
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "kubelite.cli.main", "sim-nodes", "--count", str(count),
         "--kubeconfig", str(kubeconfig), "--name-prefix", prefix, *extra],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
