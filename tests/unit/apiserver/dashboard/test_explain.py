"""The scheduler's explanation for the dashboard: the same reports `kubelite explain-schedule`
prints, from the feed's nodes and bound pods, and its endpoint authorized as the user."""

from __future__ import annotations

import json
from typing import Any

from kubelite.apiserver.dashboard.explain import compute


def node(name: str, cpu: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}},
            "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
                       "capacity": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(name: str, cpu: str, node_name: str = "", selector: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox",
                                            "resources": {"requests": {"cpu": cpu}}}]}
    if node_name:
        spec["nodeName"] = node_name
    if selector:
        spec["nodeSelector"] = selector
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "uid": name},
            "spec": spec, "status": {"phase": "Running" if node_name else "Pending"}}


NONE: dict[str, list[bytes]] = {"services": [], "replica_sets": [], "claims": [], "volumes": [], "storage_classes": []}


def test_each_node_says_which_filter_refused_the_pod_or_its_score() -> None:
    nodes = [node("small", "1"), node("full", "4"), node("roomy", "8"), node("gpu", "8", {"gpu": "yes"})]
    bound = [pod("hog", "3500m", "full")]
    wanted = pod("web", "2", selector={})
    out = compute(json.dumps(wanted).encode(), nodes, bound, NONE)
    by_node = {r["node"]: r for r in out["nodes"]}
    assert out["feasible"] == 2 and out["pod"] == "default/web"
    assert by_node["small"]["plugin"] == "NodeResourcesFit" and "Insufficient cpu" in by_node["small"]["reasons"]
    assert by_node["full"]["plugin"] == "NodeResourcesFit"
    assert by_node["roomy"]["feasible"] and by_node["roomy"]["total"] > 0 and by_node["roomy"]["scores"]
    assert out["text"].startswith("2/4 nodes are feasible.")
    picky = compute(json.dumps(pod("picky", "1", selector={"gpu": "yes"})).encode(), nodes, bound, NONE)
    refused = {r["node"]: r["plugin"] for r in picky["nodes"] if not r["feasible"]}
    assert refused == {"small": "NodeAffinity", "full": "NodeAffinity", "roomy": "NodeAffinity"}
