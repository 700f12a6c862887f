"""The one event recorder every component uses (kubelet, scheduler, controllers).

As client-go's event broadcaster: `emit` makes the event at once (its time, its
time-ordered name) and queues it; sender tasks correlate it (see `event_correlator`) and
write it: POST for a new event, PATCH of the first one for a repeat. Events about one object
always go through the same sender, so a repeat never overtakes the event it updates. When
the API server is so slow that a queue fills, new events are dropped (and counted) rather
than slowing the component or growing memory: events are a best-effort record. client-go
holds 1,000 (maxQueuedEvents); kubelite holds 10,000, so a burst of ten thousand pods keeps
every Scheduled event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any, Protocol

from kubelite.client.errors import AlreadyExists, ApiError, NotFound
from kubelite.client.event_correlator import (
    SERIES_FINISH,
    SERIES_HEARTBEAT,
    Clock,
    Correlated,
    Event,
    EventCorrelator,
    SeriesCorrelator,
    event_name,
    micro_time,
    rfc3339,
    utcnow,
)

if TYPE_CHECKING:
    from kubelite.api.registry import Kind

log = logging.getLogger(__name__)

MAX_QUEUED_EVENTS = 10_000
SENDERS = 4  # events in flight: one at a time would wait out a store sync (fsync) each
NORMAL = "Normal"
WARNING = "Warning"


class EventClient(Protocol):
    """What the recorder needs of the API client (tests pass fakes)."""

    async def create(self, kind: Any, obj: Any, namespace: str | None = None, *,
                     raw: bool = ...) -> Any: ...

    async def patch(self, kind: Any, name: str, namespace: str | None, body: Any, *,
                    patch_type: Any = ..., raw: bool = ...) -> Any: ...


def object_reference(involved: Any, involved_kind: Kind | str | None = None,
                     field_path: str | None = None) -> dict[str, Any]:
    """The ObjectReference of a dict or typed object (`involved_kind` when it lacks its kind)."""
    from kubelite.client.api_client import _identity, resolve_kind

    meta = _identity(involved, "resourceVersion")
    if isinstance(involved, dict):
        api_version, kind_name = involved.get("apiVersion"), involved.get("kind")
    else:
        api_version, kind_name = getattr(involved, "api_version", None), getattr(involved, "kind", None)
    if involved_kind is not None:
        k = resolve_kind(involved_kind)
        api_version, kind_name = k.api_version, k.kind
    ref = {"apiVersion": api_version, "kind": kind_name, "name": meta.get("name"),
           "namespace": meta.get("namespace"), "uid": meta.get("uid"),
           "resourceVersion": meta.get("resourceVersion"), "fieldPath": field_path}
    return {k: v for k, v in ref.items() if v}


class EventRecorder:
    """Records events of one component (`source.component`, on `host`).

    `series=False`: core/v1 events with count and lastTimestamp (client-go tools/record).
    `series=True`: events.k8s.io/v1 events with eventTime and series (client-go tools/events),
    stored as core/v1 Events as the API server stores them.
    """

    def __init__(self, client: EventClient, component: str, host: str = "", *, series: bool = False,
                 reporting_instance: str | None = None, clock: Clock = utcnow,
                 max_queued: int = MAX_QUEUED_EVENTS, senders: int = SENDERS) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.reporting_instance = reporting_instance if reporting_instance is not None else host
        self.clock = clock
        self.correlator: EventCorrelator | SeriesCorrelator = (
            SeriesCorrelator(clock) if series else EventCorrelator(clock))
        self.dropped = 0
        self._queues = [asyncio.Queue[Event](max(max_queued // senders, 1)) for _ in range(senders)]
        self._tasks: list[asyncio.Task[None]] = []

    # ----- making events

    def make_event(self, involved: Any, type_: str, reason: str, message: str, *,
                   action: str | None = None, field_path: str | None = None,
                   involved_kind: Kind | str | None = None) -> Event:
        """makeEvent: the event as the recorder writes it first."""
        ref = object_reference(involved, involved_kind, field_path)
        now = self.clock()
        event: Event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": event_name(ref.get("name", ""), now),
                         "namespace": ref.get("namespace") or "default"},
            "involvedObject": ref, "reason": reason, "message": message, "type": type_,
            "reportingComponent": self.component,
        }
        if self.reporting_instance:
            event["reportingInstance"] = self.reporting_instance
        if action:
            event["action"] = action
        if isinstance(self.correlator, SeriesCorrelator):
            event["eventTime"] = micro_time(now)
        else:
            event["source"] = {"component": self.component, **({"host": self.host} if self.host else {})}
            event["firstTimestamp"] = event["lastTimestamp"] = rfc3339(now)
            event["count"] = 1
        return event

    # ----- in the background

    def emit(self, involved: Any, type_: str, reason: str, message: str, *,
             action: str | None = None, field_path: str | None = None,
             involved_kind: Kind | str | None = None) -> None:
        """Queue an event; never blocks. Starts the senders on first use."""
        event = self.make_event(involved, type_, reason, message, action=action,
                                field_path=field_path, involved_kind=involved_kind)
        self.start()
        ref = event["involvedObject"]
        queue = self._queues[hash((ref.get("namespace"), ref.get("name"))) % len(self._queues)]
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % MAX_QUEUED_EVENTS == 0:
                log.warning("%s: event queue full: %d events dropped so far", self.component, self.dropped)

    def start(self) -> None:
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self._send(q), name=f"{self.component}-events-{n}")
                       for n, q in enumerate(self._queues)]
        if isinstance(self.correlator, SeriesCorrelator):
            self._tasks.append(asyncio.create_task(self._series_timers(self.correlator),
                                                   name=f"{self.component}-event-series"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def flush(self) -> None:
        """Wait until every queued event has been written (or given up)."""
        if self._tasks:
            await asyncio.gather(*(q.join() for q in self._queues))

    async def _send(self, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            try:
                await self._correlate_and_write(event)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - events are best effort
                log.info("recording %s event failed: %s", event.get("reason"), e)
            finally:
                queue.task_done()

    async def _series_timers(self, correlator: SeriesCorrelator) -> None:
        loop = asyncio.get_running_loop()
        next_heartbeat = loop.time() + SERIES_HEARTBEAT.total_seconds()
        while True:
            await asyncio.sleep(SERIES_FINISH.total_seconds())
            due = correlator.finish()
            if loop.time() >= next_heartbeat:
                next_heartbeat = loop.time() + SERIES_HEARTBEAT.total_seconds()
                due += correlator.heartbeat()
            for item in due:
                with contextlib.suppress(ApiError):
                    await self._write(item)

    # ----- now

    async def record(self, involved: Any, type_: str, reason: str, message: str, *,
                     action: str | None = None, field_path: str | None = None,
                     involved_kind: Kind | str | None = None) -> Event | None:
        """Correlate and write an event now; the server's copy, or None when it was only counted
        or filtered as spam."""
        event = self.make_event(involved, type_, reason, message, action=action,
                                field_path=field_path, involved_kind=involved_kind)
        return await self._correlate_and_write(event)

    async def _correlate_and_write(self, event: Event) -> Event | None:
        correlated = self.correlator.correlate(event)
        if correlated is None:
            return None
        return await self._write(correlated)

    async def _write(self, item: Correlated) -> Event | None:
        """recordEvent: PATCH the event written before, or POST (also when it has since gone)."""
        event = item.event
        meta = event["metadata"]
        written: Event | None = None
        if item.patch is not None:
            with contextlib.suppress(NotFound):
                written = await self.client.patch("events", meta["name"], meta["namespace"], item.patch,
                                                  patch_type="strategic", raw=True)
        if written is None:
            body = dict(event, metadata={k: v for k, v in meta.items() if k != "resourceVersion"})
            try:
                written = await self.client.create("events", body, meta["namespace"], raw=True)
            except AlreadyExists:
                return None
        if isinstance(self.correlator, EventCorrelator) and isinstance(written, dict):
            self.correlator.update_state(written)
        return written if isinstance(written, dict) else None
