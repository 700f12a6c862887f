"""The shared event recorder: POST the first event, PATCH repeats, drop when the queue is full."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from kubelite.client import NotFound
from kubelite.client.events import EventRecorder

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web", "namespace": "default", "uid": "u1"}}


class FakeEventsClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.stored: dict[str, dict[str, Any]] = {}
        self.gate = asyncio.Event()
        self.gate.set()

    async def create(self, kind: str, obj: dict[str, Any], namespace: str | None = None,
                     **kw: Any) -> dict[str, Any]:
        await self.gate.wait()
        name = obj["metadata"]["name"]
        self.calls.append(("POST", name, obj))
        stored = dict(obj, metadata=dict(obj["metadata"], resourceVersion=str(len(self.calls))))
        self.stored[name] = stored
        return stored

    async def patch(self, kind: str, name: str, namespace: str | None, body: Any,
                    **kw: Any) -> dict[str, Any]:
        await self.gate.wait()
        assert kw["patch_type"] == "strategic"
        self.calls.append(("PATCH", name, body))
        if name not in self.stored:
            raise NotFound({"reason": "NotFound", "code": 404})
        self.stored[name].update(body)
        return self.stored[name]


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def step(self) -> None:
        self.now += dt.timedelta(seconds=1)


async def test_a_repeated_event_is_one_object_with_a_count() -> None:
    client = FakeEventsClient()
    clock = Clock()
    recorder = EventRecorder(client, "kubelet", "node-1", clock=clock)  # type: ignore[arg-type]
    for _ in range(3):
        clock.step()
        recorder.emit(POD, "Warning", "BackOff", 'Back-off pulling image "nope"',
                      field_path="spec.containers{app}", involved_kind="pods")
    await recorder.flush()
    await recorder.stop()
    assert [c[0] for c in client.calls] == ["POST", "PATCH", "PATCH"]
    (event,) = client.stored.values()
    assert event["count"] == 3
    assert event["firstTimestamp"] == "2025-03-01T12:00:01Z"
    assert event["lastTimestamp"] == "2025-03-01T12:00:03Z"
    assert event["source"] == {"component": "kubelet", "host": "node-1"}
    assert event["reportingComponent"] == "kubelet" and event["reportingInstance"] == "node-1"
    assert event["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert event["metadata"]["name"].startswith("web.")


async def test_a_repeat_of_an_event_deleted_meanwhile_is_created_again() -> None:
    client = FakeEventsClient()
    recorder = EventRecorder(client, "kubelet", "node-1", clock=Clock())  # type: ignore[arg-type]
    await recorder.record(POD, "Normal", "Pulling", "Pulling image", involved_kind="pods")
    client.stored.clear()
    again = await recorder.record(POD, "Normal", "Pulling", "Pulling image", involved_kind="pods")
    assert [c[0] for c in client.calls] == ["POST", "PATCH", "POST"]
    assert again is not None and again["count"] == 2


async def test_series_events_carry_event_time_and_a_series_on_repeat() -> None:
    client = FakeEventsClient()
    clock = Clock()
    recorder = EventRecorder(client, "default-scheduler", series=True,  # type: ignore[arg-type]
                             reporting_instance="default-scheduler-h", clock=clock)
    for _ in range(2):
        clock.step()
        await recorder.record(POD, "Warning", "FailedScheduling", "0/1 nodes are available",
                              action="Scheduling", involved_kind="pods")
    (event,) = client.stored.values()
    assert "count" not in event and "source" not in event
    assert event["eventTime"] == "2025-03-01T12:00:01.000000Z"
    assert event["series"] == {"count": 2, "lastObservedTime": "2025-03-01T12:00:02.000000Z"}
    assert event["reportingInstance"] == "default-scheduler-h"


async def test_events_wait_in_order_and_are_dropped_when_too_many_wait() -> None:
    client = FakeEventsClient()
    client.gate.clear()
    recorder = EventRecorder(client, "c", max_queued=3, senders=1)  # type: ignore[arg-type]
    for n in range(6):  # the sender holds one, three wait, the last two find the queue full
        recorder.emit(POD, "Normal", f"R{n}", f"m{n}", involved_kind="pods")
        await asyncio.sleep(0)
    assert recorder.dropped == 2
    client.gate.set()
    async with asyncio.timeout(5):
        await recorder.flush()
    await recorder.stop()
    assert [c[2]["message"] for c in client.calls] == ["m0", "m1", "m2", "m3"]
