"""The whole meta.k8s.io/v1 Table, and that every registered kind can be printed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubelite.api.registry import KINDS, Kind, by_kind
from kubelite.api.tables import column_definitions, row_cells, table


def must_kind(group: str, name: str) -> Kind:
    kind = by_kind(group, "v1", name)
    assert kind is not None
    return kind


NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
POD = must_kind("", "Pod")


def pod(name: str, phase: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "labels": {"app": "web"}, "resourceVersion": "42",
                         "creationTimestamp": "2024-05-01T11:00:00Z"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": phase}}


def test_table_shape_with_partial_object_metadata_rows() -> None:
    t = table(POD, [pod("a", "Running"), pod("b", "Pending")], NOW, resource_version="77")
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "77"}
    assert t["columnDefinitions"] == column_definitions(POD)
    assert [r["cells"][0] for r in t["rows"]] == ["a", "b"]
    assert t["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
        "metadata": pod("a", "Running")["metadata"]}
    assert "conditions" not in t["rows"][0]


def test_include_object_modes() -> None:
    obj = pod("a", "Running")
    assert table(POD, [obj], NOW, "Object")["rows"][0]["object"] == obj
    assert table(POD, [obj], NOW, "None")["rows"][0]["object"] is None
    assert table(POD, [obj], NOW, "Metadata")["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_list_metadata_and_headerless_tables() -> None:
    t = table(POD, [], NOW, continue_token="abc", remaining_item_count=5, with_columns=False)
    assert t["metadata"] == {"continue": "abc", "remainingItemCount": 5}
    assert t["columnDefinitions"] is None and t["rows"] == []


def test_finished_pods_carry_a_completed_row_condition() -> None:
    rows = table(POD, [pod("ok", "Succeeded"), pod("bad", "Failed")], NOW)["rows"]
    assert rows[0]["conditions"] == [{"type": "Completed", "status": "True", "reason": "Succeeded",
                                      "message": "The pod has completed successfully."}]
    assert rows[1]["conditions"][0]["reason"] == "Failed"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: f"{k.group or 'core'}/{k.kind}")
def test_every_kind_prints_one_cell_per_column(kind: Any) -> None:
    cols = column_definitions(kind)
    assert cols[0]["name"] in ("Name", "Last Seen")
    assert all(c["description"] for c in cols), [c["name"] for c in cols if not c["description"]]
    bare = {"metadata": {"name": "x", "creationTimestamp": "2024-05-01T11:59:00Z"}}
    assert len(row_cells(kind, bare, NOW)) == len(cols)
