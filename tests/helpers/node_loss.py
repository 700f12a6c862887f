"""A cluster of machines losing one: the objects and reads that tests and bench/node_loss.py
share (kubectl against a `MachineCluster`)."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.machines import Machine, MachineCluster
from tests.helpers.node import is_ready

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def deployment(name: str, replicas: int, toleration: int) -> dict[str, Any]:
    """`replicas` sleeping busybox pods that stay `toleration` seconds on a lost node."""
    tolerations = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": toleration}
                   for key in (UNREACHABLE, NOT_READY)]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "terminationGracePeriodSeconds": 1, "tolerations": tolerations,
                         "containers": [{"name": "c", "image": "busybox",
                                         "command": ["sleep", "3600"]}]}}}}


def kubectl(mc: MachineCluster, *args: str, input: str | None = None) -> str:
    result = mc.server.kubectl(*args, input=input, check=False)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def apply(mc: MachineCluster, obj: dict[str, Any]) -> None:
    kubectl(mc, "apply", "-f", "-", input=json.dumps(obj))


def get(mc: MachineCluster, kind: str, name: str) -> dict[str, Any] | None:
    result = mc.server.kubectl("get", kind, name, "-o", "json", check=False)
    if result.returncode != 0:
        assert "NotFound" in result.stderr, result.stderr
        return None
    obj: dict[str, Any] = json.loads(result.stdout)
    return obj


def pods(mc: MachineCluster, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(kubectl(mc, "get", "pods", "-l", selector, "-o", "json"))["items"]
    return items


def live(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def node_state(mc: MachineCluster, m: Machine) -> tuple[str, set[tuple[str, str]]]:
    """(the Ready condition's status, the node's taints as (key, effect))."""
    node = get(mc, "node", m.node_name)
    assert node is not None
    ready = [c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"]
    return ready[0], {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}


def all_ready(mc: MachineCluster, app: str, replicas: int) -> list[dict[str, Any]] | None:
    """The app's pods once `replicas` of them (not terminating) are all ready; else None."""
    items = live(pods(mc, f"app={app}"))
    return items if len(items) == replicas and all(is_ready(p) for p in items) else None


def ready_elsewhere(mc: MachineCluster, app: str, replicas: int, lost: Machine) -> list[dict[str, Any]] | None:
    """The app's pods once `replicas` of them are ready, none on `lost`; else None."""
    items = all_ready(mc, app, replicas)
    return items if items and all(p["spec"]["nodeName"] != lost.node_name for p in items) else None
