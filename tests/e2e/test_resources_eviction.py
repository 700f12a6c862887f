"""Eviction under memory pressure on a real agent: its hard threshold is set just above the
machine's available memory, so the node is under pressure at once. The BestEffort pod (using
more than its zero request) is evicted: phase Failed, reason Evicted, a DisruptionTarget
condition and an Evicted event, with the node's MemoryPressure condition True, while the
Guaranteed pod (under its request) keeps running."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node


def mem_available_mi() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no MemAvailable in /proc/meminfo")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    # Allocatable memory is capacity minus the threshold, i.e. about what is in use minus the
    # margin below. A quiet machine uses little, so hold 2 GiB (pages touched) for the test:
    # the Guaranteed pod then always fits while the node is under pressure.
    ballast = b"\x01" * (2 * 1024**3)
    threshold = mem_available_mi() + 1024  # above what is free, whatever else runs meanwhile
    with running_node(tmp_path_factory.mktemp("node"),
                      agent_args=["--eviction-hard", f"memory.available<{threshold}Mi"]) as c:
        yield c
    del ballast


def pod(name: str, resources: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "main", "image": "busybox:latest", "resources": resources,
                "command": ["sh", "-c", "while :; do sleep 1; done"]}]}}


def node_condition(cluster: NodeCluster, ctype: str) -> dict[str, Any]:
    node = json.loads(cluster.kubectl("get", "node", cluster.node_name, "-o", "json").stdout)
    return next(c for c in node["status"]["conditions"] if c["type"] == ctype)


def test_best_effort_pod_is_evicted_and_guaranteed_pod_stays(cluster: NodeCluster) -> None:
    # The BestEffort pod runs first, so the first round that sees a pod picks it.
    cluster.apply(pod("hungry", {}))
    cluster.wait_running("hungry")
    limits = {"cpu": "100m", "memory": "128Mi"}
    cluster.apply(pod("steady", {"requests": limits, "limits": limits}))
    cluster.wait_running("steady")
    evicted = cluster.wait_for("hungry", lambda p: p["status"].get("reason") == "Evicted",
                               timeout=40, what="eviction")
    status = evicted["status"]
    assert status["phase"] == "Failed"
    assert status["message"].startswith("The node was low on resource: memory. ")
    target = next(c for c in status["conditions"] if c["type"] == "DisruptionTarget")
    assert (target["status"], target["reason"]) == ("True", "TerminationByKubelet")
    assert "terminated" in status["containerStatuses"][0]["state"]

    steady = cluster.pod("steady")
    assert steady["status"]["qosClass"] == "Guaranteed"
    assert steady["status"]["phase"] == "Running" and not steady["status"].get("reason")

    pressure = node_condition(cluster, "MemoryPressure")
    assert (pressure["status"], pressure["reason"]) == ("True", "KubeletHasInsufficientMemory")
    deadline = time.monotonic() + 15
    events = ""
    while time.monotonic() < deadline:
        events = cluster.kubectl("get", "events", "--field-selector",
                                 "involvedObject.name=hungry", "-o", "json").stdout
        if any(e["reason"] == "Evicted" for e in json.loads(events)["items"]):
            break
        time.sleep(0.5)
    items = [e for e in json.loads(events)["items"] if e["reason"] == "Evicted"]
    assert items and items[0]["type"] == "Warning", events
    assert items[0]["message"].startswith("The node was low on resource: memory.")
