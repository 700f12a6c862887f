"""`kubectl get nodes` cells."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.registry import Kind, by_kind
from kubelite.api.tables import column_definitions, row_cells


def must_kind(group: str, name: str) -> Kind:
    kind = by_kind(group, "v1", name)
    assert kind is not None
    return kind


NODE = must_kind("", "Node")
NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def node(ready: str | None = "True", unschedulable: bool = False, labels: dict[str, str] | None = None) -> dict[str, Any]:
    conditions = [{"type": "MemoryPressure", "status": "False"}]
    if ready is not None:
        conditions.append({"type": "Ready", "status": ready})
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-1", "labels": labels or {}, "creationTimestamp": "2024-04-28T09:00:00Z"},
        "spec": {"unschedulable": True} if unschedulable else {},
        "status": {
            "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": "192.168.1.10"},
                          {"type": "Hostname", "address": "node-1"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "kernelVersion": "6.1.0-18-amd64", "containerRuntimeVersion": "kubelite://0.1.0"},
        },
    }


def test_node_columns() -> None:
    assert [c["name"] for c in column_definitions(NODE)] == [
        "Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image",
        "Kernel-Version", "Container-Runtime"]
    assert [c["priority"] for c in column_definitions(NODE)] == [0] * 5 + [1] * 5


def test_ready_node_with_all_wide_cells() -> None:
    assert row_cells(NODE, node(), NOW) == [
        "node-1", "Ready", "<none>", "3d3h", "v1.32.0", "192.168.1.10", "<none>",
        "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "kubelite://0.1.0"]


def test_node_status_variants() -> None:
    assert row_cells(NODE, node("False"), NOW)[1] == "NotReady"
    assert row_cells(NODE, node("Unknown"), NOW)[1] == "NotReady"
    assert row_cells(NODE, node(None), NOW)[1] == "Unknown"
    assert row_cells(NODE, node("True", unschedulable=True), NOW)[1] == "Ready,SchedulingDisabled"


def test_roles_from_both_label_styles_sorted() -> None:
    labels = {"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "",
              "kubernetes.io/role": "infra", "node-role.kubernetes.io/": "ignored"}
    assert row_cells(NODE, node(labels=labels), NOW)[2] == "control-plane,infra,worker"


def test_missing_node_info_prints_unknown() -> None:
    obj = node()
    obj["status"]["nodeInfo"] = {}
    assert row_cells(NODE, obj, NOW)[4:] == ["", "192.168.1.10", "<none>", "<unknown>", "<unknown>", "<unknown>"]
