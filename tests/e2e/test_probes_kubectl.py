"""Probes on real containers, seen through the real kubectl: a liveness endpoint that starts
failing restarts the container (Unhealthy and Killing events, RESTARTS growing), a startup
probe that needs 20 s keeps the liveness probe away meanwhile, and an exec probe that sleeps
past its timeout fails (and its process is killed)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

# A CGI health endpoint for busybox httpd: 200 while /tmp/healthy exists, then 500.
HEALTH_CGI = """#!/bin/sh
if [ -f /tmp/healthy ]; then
  printf 'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nok'
else
  printf 'HTTP/1.0 500 Internal Server Error\\r\\nContent-Type: text/plain\\r\\n\\r\\nsick'
fi
"""
SERVE_HEALTH = ('mkdir -p /www/cgi-bin && echo "$HEALTH" > /www/cgi-bin/health && '
                "chmod +x /www/cgi-bin/health && touch /tmp/healthy && "
                "exec httpd -f -p 8080 -h /www")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("probes")) as c:
        yield c


def pod(name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], "terminationGracePeriodSeconds": 2, **spec}}


def restarts(p: dict[str, Any]) -> int:
    statuses = (p.get("status") or {}).get("containerStatuses") or [{}]
    return int(statuses[0].get("restartCount", 0))


def describe(cluster: NodeCluster, name: str) -> str:
    return cluster.kubectl("describe", "pod", name).stdout


def events_of(cluster: NodeCluster, name: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}",
                          "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def test_liveness_failure_restarts_with_events_and_restarts_grow(cluster: NodeCluster) -> None:
    cluster.apply(pod("alive", {
        "name": "web", "image": "busybox:latest", "command": ["sh", "-c", SERVE_HEALTH],
        "env": [{"name": "HEALTH", "value": HEALTH_CGI}],
        "ports": [{"name": "http", "containerPort": 8080}],
        "livenessProbe": {"httpGet": {"path": "/cgi-bin/health", "port": "http"},
                          "periodSeconds": 1, "failureThreshold": 2,
                          "terminationGracePeriodSeconds": 1},
    }))
    cluster.wait_running("alive")
    time.sleep(2.5)  # healthy probes pass: nothing restarts
    assert restarts(cluster.pod("alive")) == 0

    cluster.kubectl("exec", "alive", "--", "rm", "/tmp/healthy")
    flipped = time.monotonic()
    p = cluster.wait_for("alive", lambda p: restarts(p) >= 1, 15, "a liveness restart")
    # failureThreshold (2) periods of 1 s, then a 1 s probe-level grace period (httpd is pid 1
    # and ignores SIGTERM), then the restart.
    assert time.monotonic() - flipped < 8
    last = p["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert last["exitCode"] == 137 and last["reason"] == "Error"

    text = describe(cluster, "alive")
    assert "Liveness probe failed: HTTP probe failed with statuscode: 500" in text, text
    assert "Container web failed liveness probe, will be restarted" in text, text
    reasons = {e["reason"] for e in events_of(cluster, "alive")}
    assert {"Unhealthy", "Killing"} <= reasons

    # The new instance is healthy again (its command recreates the file); fail it once more.
    cluster.wait_running("alive")
    cluster.kubectl("exec", "alive", "--", "rm", "/tmp/healthy")
    cluster.wait_for("alive", lambda p: restarts(p) >= 2, 25, "a second liveness restart")
    table = cluster.kubectl("get", "pods", "alive", "--no-headers").stdout.split()
    assert int(table[3]) >= 2, table  # NAME READY STATUS RESTARTS AGE


def test_startup_probe_holds_liveness_off_for_20_seconds(cluster: NodeCluster) -> None:
    check = {"exec": {"command": ["test", "-f", "/tmp/started"]}, "periodSeconds": 1}
    cluster.apply(pod("slow", {
        "name": "app", "image": "busybox:latest",
        "command": ["sh", "-c", "sleep 20; touch /tmp/started; exec sleep 3600"],
        "startupProbe": {**check, "failureThreshold": 30},
        "livenessProbe": {**check, "failureThreshold": 1, "terminationGracePeriodSeconds": 1},
    }))
    created = time.monotonic()
    p = cluster.wait_for("slow", lambda p: p.get("status", {}).get("phase") == "Running", 30,
                         "Running")
    cs = p["status"]["containerStatuses"][0]
    assert cs["started"] is False and cs["ready"] is False
    p = cluster.wait_running("slow", timeout=40)
    assert time.monotonic() - created >= 19
    cs = p["status"]["containerStatuses"][0]
    assert cs["started"] is True and cs["ready"] is True and cs["restartCount"] == 0
    time.sleep(2)  # liveness now runs and passes
    assert restarts(cluster.pod("slow")) == 0
    assert "failed liveness probe" not in describe(cluster, "slow")


def test_exec_probe_past_its_timeout_fails_and_is_killed(cluster: NodeCluster) -> None:
    cluster.apply(pod("sleepy", {
        "name": "app", "image": "busybox:latest", "command": ["sleep", "3600"],
        "readinessProbe": {"exec": {"command": ["sleep", "5"]}, "timeoutSeconds": 1,
                           "periodSeconds": 1, "failureThreshold": 1},
    }))
    cluster.wait_for("sleepy", lambda p: p.get("status", {}).get("phase") == "Running", 30,
                     "Running")
    deadline = time.monotonic() + 15
    text = ""
    while time.monotonic() < deadline:
        text = describe(cluster, "sleepy")
        if 'Readiness probe failed: command "sleep 5" timed out' in text:
            break
        time.sleep(0.5)
    assert 'Readiness probe failed: command "sleep 5" timed out' in text, text
    p = cluster.pod("sleepy")
    assert p["status"]["containerStatuses"][0]["ready"] is False
    ready = [c for c in p["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    # Timed-out probes were killed: at most the one in flight is still sleeping.
    ps = cluster.kubectl("exec", "sleepy", "--", "ps", "-o", "args").stdout
    assert sum(line.strip() == "sleep 5" for line in ps.splitlines()) <= 1, ps


def test_kubectl_get_shows_not_ready_then_ready(cluster: NodeCluster) -> None:
    cluster.apply(pod("gate", {
        "name": "app", "image": "busybox:latest", "command": ["sleep", "3600"],
        "readinessProbe": {"exec": {"command": ["test", "-f", "/tmp/ready"]},
                           "periodSeconds": 1, "failureThreshold": 1},
    }))
    cluster.wait_for("gate", lambda p: p.get("status", {}).get("phase") == "Running", 30,
                     "Running")
    assert cluster.kubectl("get", "pod", "gate", "--no-headers").stdout.split()[1] == "0/1"
    cluster.kubectl("exec", "gate", "--", "touch", "/tmp/ready")
    touched = time.monotonic()
    cluster.wait_running("gate", timeout=10)
    assert time.monotonic() - touched < 2.5  # within about one period
    assert cluster.kubectl("get", "pod", "gate", "--no-headers").stdout.split()[1] == "1/1"


def test_probed_pods_delete_cleanly(cluster: NodeCluster) -> None:
    names = ("alive", "slow", "sleepy", "gate")
    cluster.kubectl("delete", "pod", *names, "--wait=false")
    for name in names:
        cluster.wait_gone(name)
    assert "Traceback" not in cluster.agent.log_tail(400)
