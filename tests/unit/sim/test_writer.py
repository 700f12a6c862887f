"""Bounded concurrency and retries for simulated kubelets' writes."""

from __future__ import annotations

import asyncio

import pytest

from kubelite.client import NotFound, ServerError
from kubelite.sim.writer import Writer


async def test_at_most_concurrency_requests_in_flight() -> None:
    writer = Writer(concurrency=4)
    in_flight = peak = 0

    async def request() -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1

    await asyncio.gather(*(writer.call(request) for _ in range(20)))
    assert peak == 4
    assert writer.requests == 20


async def test_server_errors_are_retried_then_succeed() -> None:
    writer = Writer(base_delay=0.001)
    calls = 0

    async def request() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ServerError({"code": 503, "message": "busy"})
        return "ok"

    assert await writer.call(request) == "ok"
    assert calls == 3 and writer.retries == 2


async def test_retries_are_bounded() -> None:
    writer = Writer(attempts=3, base_delay=0.001)
    calls = 0

    async def request() -> None:
        nonlocal calls
        calls += 1
        raise ServerError({"code": 500, "message": "down"})

    with pytest.raises(ServerError):
        await writer.call(request)
    assert calls == 3


async def test_api_refusals_are_not_retried() -> None:
    writer = Writer(base_delay=0.001)
    calls = 0

    async def request() -> None:
        nonlocal calls
        calls += 1
        raise NotFound({"code": 404, "message": "gone"})

    with pytest.raises(NotFound):
        await writer.call(request)
    assert calls == 1
