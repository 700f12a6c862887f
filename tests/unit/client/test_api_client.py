"""ApiClient against the fake API server: paths, decoding, paging, errors, watch framing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelite.api.types import core_v1
from kubelite.client import (
    AlreadyExists,
    ApiClient,
    Conflict,
    Gone,
    NotFound,
    error_from_status,
    resolve_kind,
)
from tests.unit.client.fake_apiserver import FakeApiServer

Server = tuple[FakeApiServer, ApiClient]


def pod(name: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def test_resolve_kind_accepts_kind_plural_short_and_group_forms() -> None:
    assert resolve_kind("Pod").plural == "pods"
    assert resolve_kind("po").kind == "Pod"
    assert resolve_kind("deployments.apps").group == "apps"
    with pytest.raises(KeyError):
        resolve_kind("frobs")


def test_paths_follow_kubernetes_layout() -> None:
    c = ApiClient("http://x")
    assert c.path("pods", "ns1", "p", "binding") == "/api/v1/namespaces/ns1/pods/p/binding"
    assert c.path("nodes", "ignored", "n1") == "/api/v1/nodes/n1"
    assert c.path("deployments", "d") == "/apis/apps/v1/namespaces/d/deployments"


async def test_create_get_decodes_into_msgspec_types(fake_server: Server) -> None:
    server, client = fake_server
    created = await client.create("pods", pod("a"))
    assert isinstance(created, core_v1.Pod)
    got = await client.get("pods", "a", "default")
    assert got.spec.containers[0].image == "busybox"
    raw = await client.get("pods", "a", "default", raw=True)
    assert raw["metadata"]["name"] == "a"
    assert server.requests[0].headers["Authorization"] == "Bearer secret-token"


async def test_create_accepts_structs_and_fills_api_version(fake_server: Server) -> None:
    server, client = fake_server
    obj = core_v1.ConfigMap(metadata={"name": "cm", "namespace": "default"}, data={"k": "v"})  # type: ignore[arg-type]
    await client.create("configmaps", obj)
    assert server.bodies[-1]["apiVersion"] == "v1" and server.bodies[-1]["kind"] == "ConfigMap"


async def test_errors_map_to_the_hierarchy(fake_server: Server) -> None:
    _, client = fake_server
    with pytest.raises(NotFound) as e:
        await client.get("pods", "missing", "default")
    assert e.value.code == 404 and e.value.reason == "NotFound"
    assert e.value.status["message"] == 'pods "missing" not found'
    await client.create("pods", pod("dup"))
    with pytest.raises(AlreadyExists):
        await client.create("pods", pod("dup"))


async def test_update_with_stale_resource_version_conflicts(fake_server: Server) -> None:
    _, client = fake_server
    p = await client.create("pods", pod("u"), raw=True)
    p["metadata"]["labels"] = {"x": "1"}
    updated = await client.update("pods", p, raw=True)
    assert updated["metadata"]["labels"] == {"x": "1"}
    with pytest.raises(Conflict):
        await client.update("pods", p)  # p still carries the old resourceVersion


async def test_patch_sends_the_patch_content_type(fake_server: Server) -> None:
    server, client = fake_server
    await client.create("pods", pod("p"))
    await client.patch("pods", "p", "default", {"status": {"phase": "Running"}},
                       patch_type="strategic", subresource="status")
    req = server.requests[-1]
    assert req.path.endswith("/pods/p/status")
    assert req.headers["Content-Type"] == "application/strategic-merge-patch+json"


async def test_delete_sends_delete_options(fake_server: Server) -> None:
    server, client = fake_server
    await client.create("pods", pod("d"))
    await client.delete("pods", "d", "default", grace_period=0, propagation_policy="Background",
                        preconditions={"uid": "u1"})
    assert server.bodies[-1] == {"kind": "DeleteOptions", "apiVersion": "v1",
                                 "gracePeriodSeconds": 0, "propagationPolicy": "Background",
                                 "preconditions": {"uid": "u1"}}
    assert ("pods", "default", "d") not in server.objects


async def test_list_pages_through_continue(fake_server: Server) -> None:
    server, client = fake_server
    for i in range(5):
        await client.create("pods", pod(f"p{i}"))
    server.page_size = 2
    result = await client.list("pods", "default")
    assert [p.metadata.name for p in result.items] == [f"p{i}" for i in range(5)]
    assert result.resource_version == str(server.rv)
    assert sum(1 for r in server.requests if r.method == "GET") == 3


async def test_bind_posts_a_binding(fake_server: Server) -> None:
    server, client = fake_server
    p = await client.create("pods", pod("b"))
    await client.bind(p, "node-1")
    assert server.bodies[-1]["target"] == {"apiVersion": "v1", "kind": "Node", "name": "node-1"}
    assert server.objects[("pods", "default", "b")]["spec"]["nodeName"] == "node-1"


async def test_create_event_references_the_object(fake_server: Server) -> None:
    _, client = fake_server
    p = await client.create("pods", pod("e"))
    ev = await client.create_event(p, "Scheduled", "Successfully assigned default/e to n1",
                                   component="default-scheduler")
    assert isinstance(ev, core_v1.Event)
    assert ev.involved_object.kind == "Pod" and ev.involved_object.name == "e"
    assert ev.source is not None and ev.source.component == "default-scheduler"
    assert ev.type == "Normal" and ev.count == 1


async def test_watch_streams_events_from_a_resource_version(fake_server: Server) -> None:
    server, client = fake_server
    await client.create("pods", pod("w0"))
    rv = str(server.rv)
    seen: list[tuple[str, str]] = []

    async def consume() -> None:
        async for etype, obj in client.watch("pods", "default", resource_version=rv, timeout=2):
            seen.append((etype, obj.metadata.name))
            if len(seen) == 2:
                return

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    await client.create("pods", pod("w1"))
    await client.delete("pods", "w1", "default")
    await asyncio.wait_for(task, 5)
    assert seen == [("ADDED", "w1"), ("DELETED", "w1")]


async def test_watch_from_compacted_version_raises_gone(fake_server: Server) -> None:
    server, client = fake_server
    server.compacted = 10_000
    with pytest.raises(Gone):
        async for _ in client.watch("pods", resource_version="5"):
            pass


def test_error_from_non_status_body_keeps_the_code() -> None:
    err = error_from_status(503, "upstream down")
    assert err.code == 503 and "upstream down" in err.message
