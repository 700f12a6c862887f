"""WorkQueue: de-duplication, no concurrent processing of a key, delays and backoff."""

from __future__ import annotations

import asyncio

import pytest

from kubelite.client import QueueShutDown, WorkQueue


async def test_duplicates_collapse() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    q.add("a")
    q.add("b")
    assert len(q) == 2
    assert await q.get() == "a"
    assert await q.get() == "b"


async def test_key_added_while_processing_is_requeued_on_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    key = await q.get()
    q.add("a")
    assert len(q) == 0  # not handed to a second worker
    q.done(key)
    assert await asyncio.wait_for(q.get(), 1) == "a"


async def test_get_waits_for_add() -> None:
    q: WorkQueue[str] = WorkQueue()
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    q.add("x")
    assert await asyncio.wait_for(waiter, 1) == "x"


async def test_add_after_delays() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add_after("x", 0.05)
    assert len(q) == 0
    await asyncio.sleep(0.1)
    assert len(q) == 1


async def test_rate_limited_backoff_doubles_until_forget() -> None:
    q: WorkQueue[str] = WorkQueue(base_delay=0.01, max_delay=0.03)
    assert q.add_rate_limited("k") == 0.01
    assert q.add_rate_limited("k") == 0.02
    assert q.add_rate_limited("k") == 0.03  # capped
    assert q.num_requeues("k") == 3
    q.forget("k")
    assert q.add_rate_limited("k") == 0.01


async def test_shutdown_wakes_getters() -> None:
    q: WorkQueue[str] = WorkQueue()
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0.01)
    q.shutdown()
    with pytest.raises(QueueShutDown):
        await asyncio.wait_for(waiter, 1)
