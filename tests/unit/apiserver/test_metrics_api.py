"""metrics.k8s.io shapes from kubelet Summaries, and the handlers over a store with fake kubelets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver.metrics_api import (
    MetricsApi,
    add_to_aggregated,
    add_to_group_list,
    node_metrics,
)
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.store.sqlite import SqliteStore

SUMMARY = {
    "node": {"nodeName": "n1", "cpu": {"time": "2025-01-01T00:00:00Z", "usageNanoCores": 250_000_000},
             "memory": {"workingSetBytes": 512 * 1024 * 1024}},
    "pods": [{"podRef": {"name": "web", "namespace": "default", "uid": "uid-web"},
              "cpu": {"time": "2025-01-01T00:00:00Z"},
              "containers": [{"name": "app", "cpu": {"usageNanoCores": 5_000_000},
                              "memory": {"workingSetBytes": 3 * 1024 * 1024}}]}],
}


def _kind(plural: str) -> Any:
    k = by_resource("", "v1", plural)
    assert k is not None
    return k


def test_node_metrics_shape() -> None:
    m = node_metrics({"metadata": {"name": "n1", "labels": {"a": "b"}}}, SUMMARY)
    assert m is not None
    assert m["usage"] == {"cpu": "250000000n", "memory": "524288Ki"}
    assert (m["kind"], m["apiVersion"], m["window"]) == ("NodeMetrics", "metrics.k8s.io/v1beta1", "10s")
    assert node_metrics({"metadata": {"name": "n1"}}, {"node": {"cpu": {}}}) is None


def test_discovery_entries() -> None:
    assert add_to_group_list({"groups": []})["groups"][0]["name"] == "metrics.k8s.io"
    agg = add_to_aggregated({"items": []})["items"][0]
    assert [r["resource"] for r in agg["versions"][0]["resources"]] == ["nodes", "pods"]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    store = SqliteStore(str(tmp_path / "db"))
    await store.start()
    objs = ObjectStore(store)
    await objs.create(_kind("namespaces"), None, {"metadata": {"name": "default"}}, WriteOptions())
    await objs.create(_kind("nodes"), None, {"metadata": {"name": "n1"}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}}, WriteOptions())
    body = {"metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "x"}]}}
    await objs.create(_kind("pods"), "default", body, WriteOptions())
    pod = await objs.get(_kind("pods"), "default", "web")
    import json

    stored = json.loads(pod)
    stored["status"]["phase"] = "Running"
    await objs.update(_kind("pods"), "default", "web", stored, WriteOptions(), subresource="status")
    summary = {**SUMMARY, "pods": [{**SUMMARY["pods"][0], "podRef": {  # type: ignore[dict-item]
        "name": "web", "namespace": "default", "uid": stored["metadata"]["uid"]}}]}

    async def fetch(node: dict[str, Any]) -> dict[str, Any]:
        return summary

    api = MetricsApi(objs, fetch=fetch)

    @web.middleware
    async def as_status(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except st.ApiError as e:  # what the API server's error middleware does
            return web.json_response(e.status(), status=e.code)

    app = web.Application(middlewares=[as_status])
    api.add_routes(app.router)
    async with TestClient(TestServer(app)) as c:
        yield c
    await store.close()


async def test_pod_and_node_metrics_served(client: TestClient[Any, Any]) -> None:
    r = await client.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", params={"labelSelector": "app=web"})
    doc = await r.json()
    assert doc["kind"] == "PodMetricsList"
    assert doc["items"][0]["containers"] == [{"name": "app", "usage": {"cpu": "5000000n", "memory": "3072Ki"}}]
    r = await client.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", params={"labelSelector": "app=db"})
    assert (await r.json())["items"] == []
    r = await client.get("/apis/metrics.k8s.io/v1beta1/nodes/n1")
    assert (await r.json())["usage"]["cpu"] == "250000000n"
    r = await client.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope")
    assert r.status == 404
    assert (await r.json())["message"] == 'podmetrics.metrics.k8s.io "default/nope" not found'
