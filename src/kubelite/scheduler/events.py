"""The scheduler's event recorder: events leave in the background and never hold up a cycle.

As client-go's event broadcaster does for kube-scheduler: events wait in a bounded queue and
a few senders post them in the order queued. When the API server is so busy that the queue
fills, new events are dropped (and counted) rather than slowing scheduling or growing memory:
events are a best-effort record. client-go holds 1,000 (maxQueuedEvents); kubelite holds 10,000, so a
burst of ten thousand pods keeps every Scheduled event (they arrive a few seconds late).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

MAX_QUEUED_EVENTS = 10_000
SENDERS = 4  # events in flight: one at a time would wait out a store sync (fsync) each


class EventClient(Protocol):
    async def create_event(self, involved: Any, reason: str, message: str, **kw: Any) -> Any: ...


@dataclass(frozen=True)
class _Event:
    involved: Any
    type: str
    reason: str
    message: str
    action: str


class EventRecorder:
    """`record` queues an event for the sender tasks to post; a full queue drops it."""

    def __init__(self, client: EventClient, component: str, max_queued: int = MAX_QUEUED_EVENTS,
                 senders: int = SENDERS) -> None:
        self.client = client
        self.component = component
        self.queue: asyncio.Queue[_Event] = asyncio.Queue(max_queued)
        self.dropped = 0
        self.senders = senders
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._send(), name=f"{self.component}-events-{n}")
                       for n in range(self.senders)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def record(self, involved: Any, type_: str, reason: str, message: str, action: str) -> None:
        try:
            self.queue.put_nowait(_Event(involved, type_, reason, message, action))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % MAX_QUEUED_EVENTS == 0:
                log.warning("event queue full (%d waiting): %d events dropped so far",
                            self.queue.qsize(), self.dropped)

    async def _send(self) -> None:
        while True:
            ev = await self.queue.get()
            try:
                await self.client.create_event(ev.involved, ev.reason, ev.message, type=ev.type,
                                               component=self.component, involved_kind="pods",
                                               action=ev.action, raw=True)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.info("recording %s event failed: %s", ev.reason, e)
