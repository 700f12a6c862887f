"""What to do with an event before it is written: client-go's event correlators, as pure logic.

Two flavours, as Kubernetes has two recorders:

- `EventCorrelator` (client-go tools/record, core/v1 Events; the kubelet and controllers):
  the same event again bumps `count` and `lastTimestamp` of the first one by PATCH; ten
  events that differ only in message within ten minutes become one "(combined from similar
  events): ..." event; a source may send 25 events about one object, then one per 5 minutes.
- `SeriesCorrelator` (client-go tools/events, events.k8s.io/v1; the scheduler): an event
  isomorphic to one seen in the last 6 minutes turns the first into a series
  (`series.count`, `series.lastObservedTime`), written on the first repeat, on a heartbeat
  every 30 minutes and when the series ends.

Events are core/v1 Event dicts; times come from an injected clock so tests need no sleeping.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Event = dict[str, Any]
Clock = Callable[[], dt.datetime]

MAX_LRU_CACHE_ENTRIES = 4096
# if we see the same event that varies only by message more than 10 times in 10 minutes, aggregate
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = dt.timedelta(seconds=600)
# a source may send 25 events about an object, then 1 every 5 minutes
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
COMBINED_PREFIX = "(combined from similar events): "
# events.k8s.io: an isomorphic event within 6 minutes joins the series; series refreshed every 30
SERIES_FINISH = dt.timedelta(minutes=6)
SERIES_HEARTBEAT = dt.timedelta(minutes=30)

K = TypeVar("K")
V = TypeVar("V")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def rfc3339(t: dt.datetime) -> str:
    """metav1.Time on the wire: seconds."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(t: dt.datetime) -> str:
    """metav1.MicroTime on the wire: microseconds."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unix_nanos(t: dt.datetime) -> int:
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def event_name(involved_name: str, t: dt.datetime) -> str:
    """`<involvedObject.name>.<unix nanoseconds in hex>`, as client-go names events: names of
    one object's events sort in time order, so lists (and `kubectl describe`) do too."""
    return f"{involved_name}.{unix_nanos(t):x}"


class _LRU(Generic[K, V]):
    """groupcache's lru.Cache: the least recently used entry goes when full."""

    def __init__(self, size: int = MAX_LRU_CACHE_ENTRIES) -> None:
        self.size = size
        self._d: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._d.get(key)
        if value is not None:
            self._d.move_to_end(key)
        return value

    def add(self, key: K, value: V) -> None:
        self._d[key] = value
        self._d.move_to_end(key)
        if len(self._d) > self.size:
            self._d.popitem(last=False)

    def pop(self, key: K) -> None:
        self._d.pop(key, None)

    def items(self) -> list[tuple[K, V]]:
        return list(self._d.items())


def _ref(event: Event) -> dict[str, Any]:
    return event.get("involvedObject") or {}


def _source(event: Event) -> dict[str, Any]:
    return event.get("source") or {}


def event_key(event: Event) -> tuple[str, ...]:
    """getEventKey: identical events (source, object, type, reason and message)."""
    ref, src = _ref(event), _source(event)
    return (src.get("component", ""), src.get("host", ""), ref.get("kind", ""), ref.get("namespace", ""),
            ref.get("name", ""), ref.get("fieldPath", ""), ref.get("uid", ""), ref.get("apiVersion", ""),
            event.get("type", ""), event.get("reason", ""), event.get("message", ""))


def spam_key(event: Event) -> tuple[str, ...]:
    """getSpamKey: one source talking about one object."""
    ref, src = _ref(event), _source(event)
    return (src.get("component", ""), src.get("host", ""), ref.get("kind", ""), ref.get("namespace", ""),
            ref.get("name", ""), ref.get("uid", ""), ref.get("apiVersion", ""))


def aggregate_key(event: Event) -> tuple[str, ...]:
    """EventAggregatorByReasonFunc: similar events (all but the message)."""
    ref, src = _ref(event), _source(event)
    return (src.get("component", ""), src.get("host", ""), ref.get("kind", ""), ref.get("namespace", ""),
            ref.get("name", ""), ref.get("uid", ""), ref.get("apiVersion", ""), event.get("type", ""),
            event.get("reason", ""), event.get("reportingComponent", ""), event.get("reportingInstance", ""))


@dataclass
class _Bucket:
    tokens: float
    stamp: dt.datetime


class EventSpamFilter:
    """EventSourceObjectSpamFilter: a token bucket per source and object."""

    def __init__(self, clock: Clock = utcnow, burst: int = SPAM_BURST, qps: float = SPAM_QPS,
                 size: int = MAX_LRU_CACHE_ENTRIES) -> None:
        self.clock = clock
        self.burst = burst
        self.qps = qps
        self._cache: _LRU[tuple[str, ...], _Bucket] = _LRU(size)

    def filtered(self, event: Event) -> bool:
        """True when the event must be dropped (its source has spent its budget on the object)."""
        now = self.clock()
        key = spam_key(event)
        bucket = self._cache.get(key) or _Bucket(float(self.burst), now)
        elapsed = max((now - bucket.stamp).total_seconds(), 0.0)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.qps)
        bucket.stamp = now
        self._cache.add(key, bucket)
        if bucket.tokens < 1:
            return True
        bucket.tokens -= 1
        return False


@dataclass
class _AggregateRecord:
    local_keys: set[str] = field(default_factory=set)
    last: dt.datetime | None = None


class EventAggregator:
    """Turns the 10th similar event (same reason, other message) in 10 minutes into a combined one."""

    def __init__(self, clock: Clock = utcnow, max_events: int = AGGREGATE_MAX_EVENTS,
                 interval: dt.timedelta = AGGREGATE_INTERVAL, size: int = MAX_LRU_CACHE_ENTRIES) -> None:
        self.clock = clock
        self.max_events = max_events
        self.interval = interval
        self._cache: _LRU[tuple[str, ...], _AggregateRecord] = _LRU(size)

    def aggregate(self, event: Event) -> tuple[Event, tuple[str, ...]]:
        """The event to record (maybe a combined one) and its key for the event logger."""
        now = self.clock()
        key = aggregate_key(event)
        record = self._cache.get(key)
        if record is None or record.last is None or now - record.last > self.interval:
            record = _AggregateRecord()
        record.local_keys.add(event.get("message", ""))
        record.last = now
        self._cache.add(key, record)
        if len(record.local_keys) < self.max_events:
            return event, event_key(event)
        record.local_keys.pop()  # do not grow the set any larger than max
        ref = _ref(event)
        combined: Event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": event_name(ref.get("name", ""), now),
                         "namespace": event["metadata"]["namespace"]},
            "involvedObject": ref, "reason": event.get("reason", ""), "type": event.get("type", ""),
            "message": COMBINED_PREFIX + event.get("message", ""),
            "firstTimestamp": rfc3339(now), "lastTimestamp": rfc3339(now), "count": 1,
        }
        if "source" in event:
            combined["source"] = event["source"]
        return combined, key


@dataclass
class _Observation:
    count: int
    first_timestamp: str
    name: str
    resource_version: str


@dataclass
class Correlated:
    """What to write: the event, and the patch when it updates one already written."""

    event: Event
    patch: Event | None = None


class EventCorrelator:
    """client-go's EventCorrelator: aggregate, then count duplicates, then filter spam."""

    def __init__(self, clock: Clock = utcnow, spam_filter: EventSpamFilter | None = None,
                 size: int = MAX_LRU_CACHE_ENTRIES) -> None:
        self.clock = clock
        self.aggregator = EventAggregator(clock, size=size)
        self.spam_filter = spam_filter or EventSpamFilter(clock, size=size)
        self._log: _LRU[tuple[str, ...], _Observation] = _LRU(size)

    def correlate(self, new: Event) -> Correlated | None:
        """The event to write (with a patch for one written before), or None to skip it."""
        event, key = self.aggregator.aggregate(new)
        event = dict(event, metadata=dict(event["metadata"]))
        last = self._log.get(key)
        patch = None
        if last is not None and last.count > 0:
            event["metadata"]["name"] = last.name
            event["metadata"]["resourceVersion"] = last.resource_version
            event["firstTimestamp"] = last.first_timestamp
            event["count"] = last.count + 1
            # CreateTwoWayMergePatch against the event with count, lastTimestamp, message cleared
            patch = {"count": event["count"], "lastTimestamp": event.get("lastTimestamp"),
                     "message": event.get("message", "")}
        self._log.add(key, _Observation(event.get("count", 1), event.get("firstTimestamp", ""),
                                        event["metadata"]["name"],
                                        event["metadata"].get("resourceVersion", "")))
        if self.spam_filter.filtered(event):
            return None
        return Correlated(event, patch)

    def update_state(self, written: Event) -> None:
        """Remember the server's copy (name, resourceVersion, count) for the next duplicate."""
        meta = written.get("metadata") or {}
        self._log.add(event_key(written), _Observation(
            written.get("count") or 1, written.get("firstTimestamp") or "", meta.get("name", ""),
            meta.get("resourceVersion", "")))


def isomorphic_key(event: Event) -> tuple[Any, ...]:
    """tools/events getKey: action, reason, reportingController, regarding, note, related."""
    def ref(r: dict[str, Any] | None) -> tuple[str, ...]:
        r = r or {}
        return tuple(str(r.get(f, "")) for f in ("kind", "namespace", "name", "uid", "apiVersion",
                                                 "resourceVersion", "fieldPath"))
    return (event.get("action", ""), event.get("reason", ""), event.get("reportingComponent", ""),
            ref(event.get("involvedObject")), event.get("message", ""), ref(event.get("related")))


class SeriesCorrelator:
    """tools/events' eventBroadcaster cache: isomorphic events become one series."""

    def __init__(self, clock: Clock = utcnow, size: int = MAX_LRU_CACHE_ENTRIES) -> None:
        self.clock = clock
        self._cache: _LRU[tuple[Any, ...], Event] = _LRU(size)

    def correlate(self, new: Event) -> Correlated | None:
        """The new event to create, the series patch on its first repeat, or None (counted only)."""
        key = isomorphic_key(new)
        cached = self._cache.get(key)
        if cached is None:
            self._cache.add(key, new)
            return Correlated(new)
        now = micro_time(self.clock())
        series = cached.get("series")
        if series is not None:
            series["count"] += 1
            series["lastObservedTime"] = now
            return None
        cached["series"] = {"count": 2, "lastObservedTime": now}
        return Correlated(cached, {"series": dict(cached["series"])})

    def heartbeat(self) -> list[Correlated]:
        """refreshExistingEventSeries: every open series written again (every 30 minutes)."""
        return [Correlated(ev, {"series": dict(ev["series"])})
                for _, ev in self._cache.items() if ev.get("series") is not None]

    def finish(self) -> list[Correlated]:
        """finishSeries: series idle for 6 minutes are written a last time and forgotten, as are
        single events that old (a later isomorphic event starts afresh)."""
        cutoff = self.clock() - SERIES_FINISH
        done: list[Correlated] = []
        for key, ev in self._cache.items():
            series = ev.get("series")
            seen = _parse_time(series["lastObservedTime"] if series else ev.get("eventTime"))
            if seen is not None and seen < cutoff:
                if series is not None:
                    done.append(Correlated(ev, {"series": dict(series)}))
                self._cache.pop(key)
        return done


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
