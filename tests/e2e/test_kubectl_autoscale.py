"""`kubectl autoscale` on a real node: a CPU-busy Deployment goes from 1 pod to 3 and, when the
load stops, back to 1, with Kubernetes' events, conditions and `kubectl get hpa` columns.

The controller-manager runs with a 2 s sync period and a 10 s downscale stabilization window
(Kubernetes' --horizontal-pod-autoscaler-sync-period / -downscale-stabilization) so the round
trip takes well under two minutes. Each pod spins until /tmp/idle exists (the test creates
it with `kubectl exec`); its CPU limit keeps three of them from eating the machine.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, is_ready, running_node

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

SPIN = "while [ ! -e /tmp/idle ]; do :; done; exec sleep 3600"
UP_MESSAGE = "New size: 3; reason: cpu resource utilization (percentage of request) above target"
DOWN_MESSAGE = "New size: 1; reason: All metrics below target"


def busy_deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                     "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "spin", "image": "busybox:latest",
                                     "command": ["sh", "-c", SPIN],
                                     "resources": {"requests": {"cpu": "20m"},
                                                   "limits": {"cpu": "100m"}}}]}}}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("hpa"), server_args=[
            "--horizontal-pod-autoscaler-sync-period", "2s",
            "--horizontal-pod-autoscaler-downscale-stabilization", "10s"]) as c:
        yield c


def _json(cluster: NodeCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl(*args, "-o", "json").stdout)


def until(check: Callable[[], Any], timeout: float, what: str, cluster: NodeCluster) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(1)
    hpa = cluster.kubectl("get", "horizontalpodautoscalers.v2.autoscaling", "web", "-o", "yaml", check=False).stdout
    raise AssertionError(f"{what} not reached in {timeout}s; the HPA:\n{hpa}\n"
                         f"server log:\n{cluster.server.log_tail(60)}")


def replicas(cluster: NodeCluster) -> int:
    return int(_json(cluster, "get", "deployment", "web")["spec"]["replicas"])


def rescale_events(cluster: NodeCluster) -> list[str]:
    events = _json(cluster, "get", "events", "--field-selector",
                   "involvedObject.kind=HorizontalPodAutoscaler,reason=SuccessfulRescale")
    return [e["message"] for e in events["items"]]


def ready_pods(cluster: NodeCluster) -> list[str]:
    pods = _json(cluster, "get", "pods", "-l", "app=web")["items"]
    return [p["metadata"]["name"] for p in pods
            if is_ready(p) and not p["metadata"].get("deletionTimestamp")]


def test_a_busy_deployment_scales_up_to_max_and_back_down(cluster: NodeCluster) -> None:
    cluster.apply(busy_deployment())
    until(lambda: len(ready_pods(cluster)) == 1, 60, "the first pod ready", cluster)
    out = cluster.kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1",
                          "--max=3").stdout
    assert out.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"

    until(lambda: replicas(cluster) == 3, 90, "a scale-up to 3", cluster)
    until(lambda: UP_MESSAGE in rescale_events(cluster), 20, "the SuccessfulRescale event", cluster)
    hpa = _json(cluster, "get", "horizontalpodautoscalers.v2.autoscaling", "web")
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization",
                                                               "averageUtilization": 50}
    assert hpa["status"]["lastScaleTime"]
    conditions = {c["type"]: c for c in hpa["status"]["conditions"]}
    assert conditions["ScalingActive"]["reason"] == "ValidMetricFound"
    assert conditions["ScalingActive"]["message"] == (
        "the HPA was able to successfully calculate a replica count from cpu resource "
        "utilization (percentage of request)")
    assert conditions["AbleToScale"]["status"] == "True"

    table = cluster.kubectl("get", "hpa").stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS",
                                "REPLICAS", "AGE"]
    row = table[1].split()
    assert row[:3] == ["web", "Deployment/web", "cpu:"] and row[3].endswith("/50%")
    assert row[4:6] == ["1", "3"]

    # stop the load in every pod; the HPA waits out its 10 s window, then goes back to 1
    until(lambda: len(ready_pods(cluster)) == 3, 60, "three ready pods", cluster)

    def idle_and_scaled_down() -> bool:
        for pod in ready_pods(cluster):
            cluster.kubectl("exec", pod, "--", "touch", "/tmp/idle", check=False)
        return replicas(cluster) == 1

    until(idle_and_scaled_down, 120, "a scale-down to 1", cluster)
    until(lambda: DOWN_MESSAGE in rescale_events(cluster), 20, "the scale-down event", cluster)
    v1 = _json(cluster, "get", "horizontalpodautoscalers.v1.autoscaling", "web")
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 50
    assert "autoscaling.alpha.kubernetes.io/conditions" in v1["metadata"]["annotations"]
