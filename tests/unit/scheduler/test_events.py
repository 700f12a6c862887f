"""The scheduler's event recorder: in order, in the background, dropping when the queue is full."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelite.scheduler.events import EventRecorder


class SlowClient:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate = asyncio.Event()
        self.fail_next = False

    async def create_event(self, involved: Any, reason: str, message: str, **kw: Any) -> Any:
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the server said no")
        assert kw["component"] == "default-scheduler" and kw["raw"] is True
        self.sent.append(message)
        return None


async def test_events_are_sent_in_order_and_dropped_when_too_many_wait() -> None:
    client = SlowClient()
    recorder = EventRecorder(client, "default-scheduler", max_queued=3, senders=1)
    recorder.start()
    try:
        for n in range(6):  # the sender holds one, three wait, the last two find the queue full
            recorder.record(object(), "Normal", "Scheduled", f"m{n}", "Binding")
            await asyncio.sleep(0)
        assert recorder.dropped == 2
        client.gate.set()
        async with asyncio.timeout(5):
            while len(client.sent) < 4:
                await asyncio.sleep(0.01)
        assert client.sent == ["m0", "m1", "m2", "m3"]
    finally:
        await recorder.stop()


async def test_a_failed_event_is_logged_and_the_next_still_goes() -> None:
    client = SlowClient()
    client.gate.set()
    client.fail_next = True
    recorder = EventRecorder(client, "default-scheduler", senders=1)
    recorder.start()
    try:
        recorder.record(object(), "Warning", "FailedScheduling", "lost", "Scheduling")
        recorder.record(object(), "Normal", "Scheduled", "kept", "Binding")
        async with asyncio.timeout(5):
            while not client.sent:
                await asyncio.sleep(0.01)
        assert client.sent == ["kept"]
    finally:
        await recorder.stop()


async def test_several_senders_post_every_queued_event() -> None:
    client = SlowClient()
    recorder = EventRecorder(client, "default-scheduler", senders=4)
    recorder.start()
    try:
        for n in range(20):
            recorder.record(object(), "Normal", "Scheduled", f"m{n}", "Binding")
        client.gate.set()
        async with asyncio.timeout(5):
            while len(client.sent) < 20:
                await asyncio.sleep(0.01)
        assert sorted(client.sent) == sorted(f"m{n}" for n in range(20)) and recorder.dropped == 0
    finally:
        await recorder.stop()
