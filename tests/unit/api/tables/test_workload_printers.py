"""`kubectl get deployments` and `kubectl get replicasets` cells."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.registry import Kind, by_kind
from kubelite.api.tables import column_definitions, row_cells


def must_kind(group: str, name: str) -> Kind:
    kind = by_kind(group, "v1", name)
    assert kind is not None
    return kind


DEPLOYMENT = must_kind("apps", "Deployment")
REPLICASET = must_kind("apps", "ReplicaSet")
NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def workload(kind: str, replicas: int | None, status: dict[str, Any], selector: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.25"}, {"name": "sidecar", "image": "busybox"}]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:15:00Z"},
            "spec": spec, "status": status}


def test_deployment_columns() -> None:
    assert [(c["name"], c["priority"]) for c in column_definitions(DEPLOYMENT)] == [
        ("Name", 0), ("Ready", 0), ("Up-to-date", 0), ("Available", 0), ("Age", 0),
        ("Containers", 1), ("Images", 1), ("Selector", 1)]


def test_deployment_row() -> None:
    obj = workload("Deployment", 3, {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3,
                                     "availableReplicas": 2}, {"matchLabels": {"app": "web"}})
    assert row_cells(DEPLOYMENT, obj, NOW) == [
        "web", "2/3", 3, 2, "45m", "nginx,sidecar", "nginx:1.25,busybox", "app=web"]


def test_new_deployment_without_status() -> None:
    obj = workload("Deployment", None, {}, {"matchLabels": {"app": "web"},
                   "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]}]})
    assert row_cells(DEPLOYMENT, obj, NOW)[1:4] == ["0/1", 0, 0]
    assert row_cells(DEPLOYMENT, obj, NOW)[7] == "app=web,tier in (be,fe)"


def test_deployment_with_bad_selector_says_invalid() -> None:
    obj = workload("Deployment", 1, {}, {"matchExpressions": [{"key": "a", "operator": "Near"}]})
    assert row_cells(DEPLOYMENT, obj, NOW)[7] == "<invalid>"


def test_replicaset_columns_and_row() -> None:
    assert [c["name"] for c in column_definitions(REPLICASET)] == [
        "Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"]
    assert [c["type"] for c in column_definitions(REPLICASET)][1:4] == ["integer"] * 3
    obj = workload("ReplicaSet", 3, {"replicas": 3, "readyReplicas": 1},
                   {"matchLabels": {"app": "web", "pod-template-hash": "5d8f7c9b6"}})
    assert row_cells(REPLICASET, obj, NOW) == [
        "web", 3, 3, 1, "45m", "nginx,sidecar", "nginx:1.25,busybox", "app=web,pod-template-hash=5d8f7c9b6"]


def test_replicaset_scaled_to_zero_and_empty_selector() -> None:
    obj = workload("ReplicaSet", 0, {"replicas": 0}, {})
    assert row_cells(REPLICASET, obj, NOW)[1:4] == [0, 0, 0]
    assert row_cells(REPLICASET, obj, NOW)[7] == "<none>"
