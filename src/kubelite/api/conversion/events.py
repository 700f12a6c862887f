"""events.k8s.io/v1 Event <-> core/v1 Event, as pkg/apis/events/v1/conversion.go converts.

regarding <-> involvedObject, note <-> message, reportingController <-> reportingComponent,
deprecatedSource/FirstTimestamp/LastTimestamp/Count <-> source/firstTimestamp/lastTimestamp/
count; eventTime, series, action, reason, related, type, reportingInstance are the same.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
API_VERSION = "events.k8s.io/v1"

# events.k8s.io/v1 name -> core/v1 name, for the fields that differ
_RENAMED = {
    "regarding": "involvedObject",
    "note": "message",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}
_SAME = ("metadata", "eventTime", "series", "action", "reason", "related", "type", "reportingInstance")

FIELD_LABELS = {
    **{f"regarding.{f}": f"involvedObject.{f}" for f in (
        "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "metadata.name": "metadata.name",
    "metadata.namespace": "metadata.namespace",
    "reason": "reason",
    "type": "type",
}


def to_core(event: Obj) -> Obj:
    """An events.k8s.io/v1 Event as core/v1 stores it (nulls dropped)."""
    out: Obj = {"apiVersion": "v1", "kind": "Event"}
    for name in _SAME:
        if event.get(name) is not None:
            out[name] = event[name]
    for new, old in _RENAMED.items():
        value = event.get(new)
        if value is not None and value != {}:
            out[old] = value
    out.setdefault("involvedObject", {})
    return out


# events.k8s.io/v1 fields in the order Go writes them
_ORDER = ("metadata", "eventTime", "series", "reportingController", "reportingInstance", "action",
          "reason", "regarding", "related", "note", "type", "deprecatedSource",
          "deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount")
# zero values Go writes anyway: a zero time is null, a struct is never omitted
_ZERO: Obj = {"eventTime": None, "regarding": {}, "deprecatedSource": {},
              "deprecatedFirstTimestamp": None, "deprecatedLastTimestamp": None}


def from_core(event: Obj) -> Obj:
    """A stored core/v1 Event in the events.k8s.io/v1 shape."""
    out: Obj = {"kind": "Event", "apiVersion": API_VERSION}
    for name in _ORDER:
        value = event.get(_RENAMED.get(name, name))
        if value is not None:
            out[name] = value
        elif name in _ZERO:
            out[name] = _ZERO[name]
    return out
