"""Heartbeats spread over their interval instead of firing all at once."""

from __future__ import annotations

import asyncio

from kubelite.sim.ticker import SpreadTicker


async def test_actions_are_spread_over_the_interval() -> None:
    loop = asyncio.get_running_loop()
    times: dict[str, float] = {}

    async def action(name: str) -> None:
        times.setdefault(name, loop.time())

    names = [f"n{i}" for i in range(10)]
    ticker = SpreadTicker("test", 0.5, lambda: names, action)
    start = loop.time()
    ticker.start()
    await asyncio.sleep(0.8)
    await ticker.stop()
    offsets = [times[n] - start for n in names]
    assert offsets == sorted(offsets)
    assert offsets[0] < 0.1
    assert 0.4 < offsets[-1] < 0.75  # the last node is due at 9/10 of the interval
    assert 0.2 < offsets[5] < 0.45  # the sixth halfway


async def test_every_node_runs_once_per_interval() -> None:
    counts: dict[str, int] = {}

    async def action(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    ticker = SpreadTicker("test", 0.1, lambda: ["a", "b"], action)
    ticker.start()
    await asyncio.sleep(0.35)
    await ticker.stop()
    assert 3 <= counts["a"] <= 5 and 3 <= counts["b"] <= 5


async def test_a_slow_node_is_skipped_not_piled_up() -> None:
    started = 0

    async def slow(name: str) -> None:
        nonlocal started
        started += 1
        await asyncio.sleep(10)

    ticker = SpreadTicker("test", 0.02, lambda: ["a"], slow)
    ticker.start()
    await asyncio.sleep(0.2)
    await ticker.stop()
    assert started == 1


async def test_a_failing_action_does_not_stop_the_ticker() -> None:
    calls = 0

    async def failing(name: str) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    ticker = SpreadTicker("test", 0.05, lambda: ["a"], failing)
    ticker.start()
    await asyncio.sleep(0.22)
    await ticker.stop()
    assert calls >= 3
