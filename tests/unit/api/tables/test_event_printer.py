"""`kubectl get events` cells, wide ones included."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.registry import Kind, by_kind
from kubelite.api.tables import column_definitions, row_cells


def must_kind(group: str, name: str) -> Kind:
    kind = by_kind(group, "v1", name)
    assert kind is not None
    return kind


EVENT = must_kind("", "Event")
NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def event(**fields: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web.17c2d3e4f5a6b7c8", "namespace": "default",
                     "creationTimestamp": "2024-05-01T11:50:00Z"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default",
                           "fieldPath": "spec.containers{nginx}"},
        "reason": "Pulled", "type": "Normal",
        "message": 'Successfully pulled image "nginx:1.25" in 1.2s\n',
        **fields,
    }


def test_event_columns() -> None:
    assert [(c["name"], c["priority"]) for c in column_definitions(EVENT)] == [
        ("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1), ("Source", 1),
        ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]


def test_event_row_from_the_core_v1_api() -> None:
    obj = event(firstTimestamp="2024-05-01T11:50:00Z", lastTimestamp="2024-05-01T11:55:00Z", count=4,
                source={"component": "kubelet", "host": "node-1"})
    assert row_cells(EVENT, obj, NOW) == [
        "5m", "Normal", "Pulled", "pod/web", "spec.containers{nginx}", "kubelet, node-1",
        'Successfully pulled image "nginx:1.25" in 1.2s', "10m", 4, "web.17c2d3e4f5a6b7c8"]


def test_event_written_through_events_v1() -> None:
    # No first/last timestamps or count: eventTime and reportingController stand in.
    obj = event(eventTime="2024-05-01T11:59:29.876543Z", reportingComponent="default-scheduler",
                reportingInstance="default-scheduler-node-1", reason="Scheduled")
    cells = row_cells(EVENT, obj, NOW)
    assert cells[0] == "30s" and cells[7] == "30s"  # 30.12s, truncated
    assert cells[5] == "default-scheduler, default-scheduler-node-1"
    assert cells[8] == 1


def test_event_series_gives_last_seen_and_count() -> None:
    obj = event(eventTime="2024-05-01T11:00:00.000000Z",
                series={"count": 12, "lastObservedTime": "2024-05-01T11:59:00.000000Z"})
    cells = row_cells(EVENT, obj, NOW)
    assert (cells[0], cells[7], cells[8]) == ("60s", "60m", 12)


def test_event_about_an_unnamed_object_and_without_times() -> None:
    obj = event(involvedObject={"kind": "Node"}, source={"component": "kubelet"})
    cells = row_cells(EVENT, obj, NOW)
    assert cells[3] == "node" and cells[4] == "" and cells[5] == "kubelet"
    assert cells[0] == "<unknown>" and cells[7] == "<unknown>"
