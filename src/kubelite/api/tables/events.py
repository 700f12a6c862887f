"""`kubectl get events`: printEvent (core/v1 Events, including ones written by events/v1)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.tables._base import (
    OBJECT_META,
    Column,
    Obj,
    Printer,
    columns,
    doc,
    elapsed,
    name,
    parse_time,
    since,
)

EVENT = "io.k8s.api.core.v1.Event"

COLUMNS = columns(
    Column("Last Seen", "string", doc(EVENT, "lastTimestamp")),
    Column("Type", "string", doc(EVENT, "type")),
    Column("Reason", "string", doc(EVENT, "reason")),
    Column("Object", "string", doc(EVENT, "involvedObject")),
    Column("Subobject", "string", doc("io.k8s.api.core.v1.ObjectReference", "fieldPath"), priority=1),
    Column("Source", "string", doc(EVENT, "source"), priority=1),
    Column("Message", "string", doc(EVENT, "message")),
    Column("First Seen", "string", doc(EVENT, "firstTimestamp"), priority=1),
    Column("Count", "string", doc(EVENT, "count"), priority=1),
    Column("Name", "string", doc(OBJECT_META, "name"), priority=1, format="name"),
)


def event_source(event: Obj) -> str:
    """formatEventSource: `component, host`, falling back to reportingComponent/Instance."""
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    host = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


def event_object(event: Obj) -> str:
    """The Object column: `pod/web-1`, or just the lower-cased kind when unnamed."""
    involved = event.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    return f"{kind}/{involved['name']}" if involved.get("name") else kind


def event_row(event: Obj, now: dt.datetime) -> list[Any]:
    first = parse_time(event.get("firstTimestamp")) or parse_time(event.get("eventTime"))
    first_seen = elapsed(first, now)
    last = parse_time(event.get("lastTimestamp"))
    last_seen = elapsed(last, now) if last is not None else first_seen
    count = event.get("count") or 0
    series = event.get("series")
    if series is not None:
        last_seen = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1  # singleton events written through events/v1 carry no count
    return [
        last_seen, event.get("type") or "", event.get("reason") or "", event_object(event),
        (event.get("involvedObject") or {}).get("fieldPath") or "", event_source(event),
        (event.get("message") or "").strip(), first_seen, count, name(event),
    ]


PRINTER = Printer(COLUMNS, event_row)
