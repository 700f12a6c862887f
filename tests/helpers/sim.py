"""Simulated nodes for tests, with heartbeats fast enough for a test's patience."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
