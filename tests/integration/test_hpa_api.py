"""HorizontalPodAutoscaler: stored as autoscaling/v2, served as v1 too (targetCPUUtilizationPercentage
<-> a cpu Utilization metric, the rest in annotations), defaulted and validated as Kubernetes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.helpers.cluster import KUBECTL_VERSIONS, Server, running_server
from tests.helpers.raw_api import raw_session

V1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
V2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("hpa-api") / "data") as srv:
        yield srv


@pytest.fixture
async def session(server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_session(server) as s:
        yield s


async def _json(resp: aiohttp.ClientResponse, code: int) -> Any:
    body = await resp.json()
    assert resp.status == code, body
    return body


async def test_a_v1_hpa_reads_as_v2_with_a_cpu_metric(session: aiohttp.ClientSession) -> None:
    hpa = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web"},
           "spec": {"scaleTargetRef": REF, "maxReplicas": 3, "targetCPUUtilizationPercentage": 50}}
    async with session.post(V1, json=hpa) as r:
        created = await _json(r, 201)
    assert created["apiVersion"] == "autoscaling/v1"
    assert created["spec"] == {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 3,
                               "targetCPUUtilizationPercentage": 50}
    assert created["status"] == {"currentReplicas": 0, "desiredReplicas": 0}
    async with session.get(f"{V2}/web") as r:
        v2 = await _json(r, 200)
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]
    assert "annotations" not in v2["metadata"]


async def test_a_v2_memory_metric_and_behavior_ride_in_v1_annotations(
        session: aiohttp.ClientSession) -> None:
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "mem"},
           "spec": {"scaleTargetRef": REF, "maxReplicas": 4, "metrics": [
               {"type": "Resource", "resource": {"name": "memory", "target": {
                   "type": "AverageValue", "averageValue": "100Mi"}}}],
               "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}}}}
    async with session.post(V2, json=hpa) as r:
        created = await _json(r, 201)
    # behavior's unset rules are filled in (GenerateHPAScaleUpRules / ScaleDownRules)
    assert created["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 30, "selectPolicy": "Max", "policies": [
            {"type": "Percent", "value": 100, "periodSeconds": 15}]}}
    async with session.get(f"{V1}/mem") as r:
        v1 = await _json(r, 200)
    annotations = v1["metadata"]["annotations"]
    assert "targetCPUUtilizationPercentage" not in v1["spec"]
    assert annotations["autoscaling.alpha.kubernetes.io/metrics"] == (
        '[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}}]')
    # a v1 round trip keeps what v1 cannot hold
    v1["spec"]["maxReplicas"] = 5
    async with session.put(f"{V1}/mem", json=v1) as r:
        await _json(r, 200)
    async with session.get(f"{V2}/mem") as r:
        v2 = await _json(r, 200)
    assert v2["spec"]["maxReplicas"] == 5
    assert v2["spec"]["metrics"] == hpa["spec"]["metrics"]  # type: ignore[index]
    assert v2["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 30
    assert "annotations" not in v2["metadata"]


@pytest.mark.parametrize(("spec", "field", "message"), [
    ({"minReplicas": 0, "maxReplicas": 3}, "spec.minReplicas", "must be greater than or equal to 1"),
    ({"minReplicas": 4, "maxReplicas": 3}, "spec.maxReplicas",
     "must be greater than or equal to `minReplicas`"),
    ({"maxReplicas": 3, "behavior": {"scaleUp": {"policies": [
        {"type": "Pods", "value": 1, "periodSeconds": 1801}]}}},
     "spec.behavior.scaleUp.policies[0].periodSeconds", "must be less than or equal to 1800"),
])
async def test_invalid_hpas_are_refused(session: aiohttp.ClientSession, spec: dict[str, Any],
                                        field: str, message: str) -> None:
    hpa = {"metadata": {"name": "bad"}, "spec": {"scaleTargetRef": REF, **spec}}
    async with session.post(V2, json=hpa) as r:
        body = await _json(r, 422)
    causes = body["details"]["causes"]
    assert any(c["field"] == field and message in c["message"] for c in causes), causes


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_kubectl_autoscale_get_and_describe(server: Server, version: str) -> None:
    name = f"app{version.replace('.', '')}"
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
              "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                  "metadata": {"labels": {"app": name}},
                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    server.kubectl("apply", "-f", "-", input=json.dumps(deploy), version=version)
    out = server.kubectl("autoscale", "deployment", name, "--cpu-percent=50", "--min=1", "--max=3",
                         version=version).stdout
    assert out.strip() == f"horizontalpodautoscaler.autoscaling/{name} autoscaled"
    table = server.kubectl("get", "hpa", name, version=version).stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert table[1].split()[:6] == [name, f"Deployment/{name}", "cpu:", "<unknown>/50%", "1", "3"]
    described = server.kubectl("describe", "hpa", name, version=version).stdout
    assert "Reference:" in described and f"Deployment/{name}" in described
    assert "Min replicas:" in described and "Max replicas:" in described
    everything = server.kubectl("get", "all", "-o", "name", version=version).stdout.split()
    assert f"horizontalpodautoscaler.autoscaling/{name}" in everything
