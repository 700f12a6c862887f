"""SchedulingQueue: priority order, backoff, waking refused pods on the events they wait for."""

from __future__ import annotations

import asyncio

from kubelite.scheduler.framework import Event
from kubelite.scheduler.queue import SchedulingQueue
from tests.unit.scheduler.builders import make_pod


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_higher_priority_first_then_older() -> None:
    q = SchedulingQueue()
    q.add(make_pod("low", priority=0))
    q.add(make_pod("high", priority=100))
    q.add(make_pod("low2", priority=0))
    assert [(await q.pop()).key for _ in range(3)] == ["default/high", "default/low", "default/low2"]


async def test_backoff_doubles_and_caps() -> None:
    q = SchedulingQueue()
    q.add(make_pod("p"))
    qp = await q.pop()
    assert q.backoff_duration(qp) == 1.0
    qp.attempts = 3
    assert q.backoff_duration(qp) == 4.0
    qp.attempts = 10
    assert q.backoff_duration(qp) == 10.0


async def test_refused_pod_waits_for_a_registered_event() -> None:
    clock = Clock()
    q = SchedulingQueue({"NodeResourcesFit": Event.POD_DELETE | Event.NODE_ADD,
                         "NodeAffinity": Event.NODE_ADD | Event.NODE_LABEL}, clock=clock)
    q.add(make_pod("p"))
    qp = await q.pop()
    q.add_unschedulable(qp, {"NodeAffinity"})
    assert q.pending()["unschedulable"] == ["default/p"]
    assert q.move_on_event(Event.POD_DELETE) == 0
    assert q.move_on_event(Event.NODE_LABEL) == 1
    assert q.pending()["backoff"] == ["default/p"]  # still inside its 1 s backoff
    clock.now += 1.5
    q.flush_backoff()
    assert q.pending()["active"] == ["default/p"]


async def test_event_during_the_attempt_sends_pod_to_backoff() -> None:
    q = SchedulingQueue({"NodeResourcesFit": Event.NODE_ADD})
    q.add(make_pod("p"))
    qp = await q.pop()
    q.move_on_event(Event.NODE_ADD)  # raced with the attempt
    q.add_unschedulable(qp, {"NodeResourcesFit"})
    assert q.pending()["backoff"] == ["default/p"]


async def test_pop_waits_and_deleted_pods_are_skipped() -> None:
    q = SchedulingQueue()
    waiter = asyncio.create_task(q.pop())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    gone = make_pod("gone")
    q.add(gone)
    q.delete(gone)
    q.add(make_pod("kept"))
    assert (await asyncio.wait_for(waiter, 1)).key == "default/kept"


async def test_spec_change_wakes_an_unschedulable_pod() -> None:
    clock = Clock()
    q = SchedulingQueue(clock=clock)
    old = make_pod("p")
    q.add(old)
    q.add_unschedulable(await q.pop(), {"NodeAffinity"})
    clock.now += 5
    q.update(old, make_pod("p", labels={"x": "1"}))
    assert q.pending()["active"] == ["default/p"]
