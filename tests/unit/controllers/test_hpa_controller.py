"""One reconcile of the HPA controller against a fake API: what it writes to the scale
subresource, the HPA's status, and the events, in horizontal.go's words."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.client import NotFound
from kubelite.controllers.horizontalpodautoscaler import HorizontalPodAutoscalerController

Obj = dict[str, Any]
STARTED = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
SCALE_PATH = "/apis/apps/v1/namespaces/default/deployments/web/scale"


class FakeApi:
    """The few client calls the controller makes, answered from dicts."""

    def __init__(self, replicas: int | None, usage: list[str]) -> None:
        self.replicas = replicas
        self.usage = usage
        self.puts: list[tuple[str, Obj]] = []
        self.events: list[tuple[str, str, str]] = []
        self.status: Obj | None = None

    def path(self, kind: Any, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        return f"/apis/apps/v1/namespaces/{namespace}/{kind.plural}/{name}/{subresource}"

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        if method == "PUT":
            self.puts.append((path, kw["body"]))
            return kw["body"]
        if path == SCALE_PATH:
            if self.replicas is None:
                raise NotFound({"code": 404, "reason": "NotFound",
                                "message": 'deployments.apps "web" not found'})
            return {"kind": "Scale", "spec": {"replicas": self.replicas},
                    "status": {"replicas": self.replicas, "selector": "app=web"}}
        return {"items": [{"metadata": {"name": f"web-{i}"}, "timestamp": STARTED, "window": "10s",
                           "containers": [{"name": "c", "usage": {"cpu": cpu, "memory": "1Mi"}}]}
                          for i, cpu in enumerate(self.usage)]}

    async def create_event(self, involved: Obj, reason: str, message: str, **kw: Any) -> None:
        self.events.append((kw["type"], reason, message))

    async def update(self, kind: str, obj: Obj, **kw: Any) -> Obj:
        self.status = obj["status"]
        return obj


class Pods:
    def __init__(self, count: int) -> None:
        self.items = [{"metadata": {"name": f"web-{i}", "namespace": "default", "labels": {"app": "web"}},
                       "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]},
                       "status": {"phase": "Running", "startTime": STARTED, "conditions": [
                           {"type": "Ready", "status": "True", "lastTransitionTime": STARTED}]}}
                      for i in range(count)]

    def by_index(self, name: str, value: str) -> list[Obj]:
        return self.items


def hpa(max_replicas: int = 3) -> Obj:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 1, "maxReplicas": max_replicas, "metrics": [
                         {"type": "Resource", "resource": {"name": "cpu", "target": {
                             "type": "Utilization", "averageUtilization": 50}}}]},
            "status": {"desiredReplicas": 0}}


async def reconcile(api: FakeApi, pods: int, obj: Obj) -> None:
    controller = HorizontalPodAutoscalerController(api)
    controller.pods = Pods(pods)  # type: ignore[assignment]
    await controller._reconcile("default/web", obj)


def conditions(api: FakeApi) -> dict[str, tuple[str, str, str]]:
    assert api.status is not None
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in api.status["conditions"]}


async def test_a_busy_pod_scales_to_max_with_kubernetes_words() -> None:
    api = FakeApi(replicas=1, usage=["200m"])
    await reconcile(api, 1, hpa())
    assert api.puts == [(SCALE_PATH, {"kind": "Scale", "spec": {"replicas": 3},
                                      "status": {"replicas": 1, "selector": "app=web"}})]
    assert ("Normal", "SuccessfulRescale", "New size: 3; reason: cpu resource utilization "
            "(percentage of request) above target") in api.events
    assert api.status is not None
    assert api.status["currentReplicas"] == 1 and api.status["desiredReplicas"] == 3
    assert api.status["lastScaleTime"]
    assert api.status["currentMetrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageValue": "200m", "averageUtilization": 200}}}]
    got = conditions(api)
    assert got["AbleToScale"] == ("True", "SucceededRescale",
                                  "the HPA controller was able to update the target scale to 3")
    assert got["ScalingActive"][:2] == ("True", "ValidMetricFound")
    assert got["ScalingLimited"] == ("True", "TooManyReplicas",
                                     "the desired replica count is more than the maximum replica count")


async def test_within_tolerance_nothing_moves() -> None:
    api = FakeApi(replicas=2, usage=["52m", "53m"])
    await reconcile(api, 2, hpa())
    assert api.puts == [] and api.events == []
    assert conditions(api)["AbleToScale"][1] == "ReadyForNewScale"
    assert conditions(api)["ScalingLimited"][:2] == ("False", "DesiredWithinRange")


async def test_above_max_replicas_scales_down_to_it() -> None:
    api = FakeApi(replicas=5, usage=["50m"] * 5)
    await reconcile(api, 5, hpa())
    assert ("Normal", "SuccessfulRescale",
            "New size: 3; reason: Current number of replicas above Spec.MaxReplicas") in api.events


async def test_a_target_at_zero_replicas_disables_scaling() -> None:
    api = FakeApi(replicas=0, usage=[])
    await reconcile(api, 0, hpa())
    assert api.puts == []
    assert conditions(api)["ScalingActive"] == (
        "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")


async def test_a_missing_target_is_failed_get_scale() -> None:
    api = FakeApi(replicas=None, usage=[])
    await reconcile(api, 0, hpa())
    status, reason, message = conditions(api)["AbleToScale"]
    assert (status, reason) == ("False", "FailedGetScale")
    assert message == ("the HPA controller was unable to get the target's current scale: "
                       'deployments.apps "web" not found')
    assert api.events == [("Warning", "FailedGetScale", 'deployments.apps "web" not found')]


async def test_no_metrics_keeps_the_count_and_says_why() -> None:
    api = FakeApi(replicas=2, usage=[])
    await reconcile(api, 2, hpa())
    assert api.puts == []
    assert conditions(api)["ScalingActive"] == (
        "False", "FailedGetResourceMetric", "the HPA was unable to compute the replica count: failed "
        "to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from "
        "resource metrics API")
    assert ("Warning", "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first "
            "error is: failed to get cpu resource metric value: failed to get cpu utilization: "
            "unable to get metrics for resource cpu: no metrics returned from resource metrics API"
            ) in api.events
