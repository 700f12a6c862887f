"""Informer: list then watch, handlers, indexers, re-list on 410, resume on stream end."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelite.client import ApiClient, Informer
from tests.helpers.wait import eventually
from tests.unit.client.fake_apiserver import FakeApiServer

Server = tuple[FakeApiServer, ApiClient]


def pod(name: str, node: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def by_node(obj: Any) -> list[str]:
    return [obj.spec.node_name] if obj.spec.node_name else []


async def test_lists_then_watches_and_calls_handlers(fake_server: Server) -> None:
    server, client = fake_server
    await server.put("pods", pod("a", "n1"))
    inf = Informer(client, "pods", indexers={"node": by_node})
    events: list[tuple[str, str]] = []
    inf.on_add(lambda o: events.append(("add", o.metadata.name)))
    inf.on_update(lambda old, new: events.append(("update", new.metadata.name)))
    inf.on_delete(lambda o: events.append(("delete", o.metadata.name)))
    inf.start()
    try:
        assert await asyncio.wait_for(inf.has_synced(), 5)
        assert inf.get("default/a") is not None
        await server.put("pods", pod("b", "n1"))
        await server.put("pods", pod("a", "n2"))
        await server.delete("pods", "default", "b")
        await eventually(lambda: len(events) == 4)
        assert events == [("add", "a"), ("add", "b"), ("update", "a"), ("delete", "b")]
        assert [p.metadata.name for p in inf.by_index("node", "n2")] == ["a"]
        assert inf.by_index("node", "n1") == []
    finally:
        await inf.stop()


async def test_relists_on_410_and_reconciles_the_cache(fake_server: Server) -> None:
    server, client = fake_server
    await server.put("pods", pod("keep"))
    await server.put("pods", pod("gone"))
    inf = Informer(client, "pods", raw=True)
    deleted: list[str] = []
    inf.on_delete(lambda o: deleted.append(o["metadata"]["name"]))
    inf.start()
    try:
        await inf.has_synced()
        # Simulate missed history: the store changes and compacts while our watch is down.
        server.close_watches.set()
        await eventually(lambda: server.watch_count >= 1)
        server.objects.pop(("pods", "default", "gone"))
        server.history.clear()
        await server.put("pods", pod("new"))
        server.compacted = server.rv + 1
        await asyncio.sleep(0.1)
        server.close_watches.clear()
        await eventually(lambda: inf.get("default/new") is not None)
        assert deleted == ["gone"]
        assert sorted(inf.keys()) == ["default/keep", "default/new"]
    finally:
        await inf.stop()


async def test_error_event_triggers_relist(fake_server: Server) -> None:
    server, client = fake_server
    server.gone_as_event = True
    await server.put("pods", pod("a"))
    inf = Informer(client, "pods", raw=True, retry_delay=0.01)
    inf.start()
    try:
        await inf.has_synced()
        lists_before = sum(1 for r in server.requests if "watch" not in r.query)
        server.compacted = server.rv + 5  # the running watch's next reconnect is too old
        server.close_watches.set()
        await asyncio.sleep(0.1)
        server.close_watches.clear()
        server.compacted = 0
        await eventually(
            lambda: sum(1 for r in server.requests if "watch" not in r.query) > lists_before)
    finally:
        await inf.stop()


async def test_rewatches_from_last_seen_version_when_the_stream_ends(fake_server: Server) -> None:
    server, client = fake_server
    inf = Informer(client, "pods", raw=True, watch_timeout=1)
    inf.start()
    try:
        await inf.has_synced()
        await server.put("pods", pod("x"))
        await eventually(lambda: inf.get("default/x") is not None)
        rv_seen = inf.last_resource_version
        await eventually(lambda: server.watch_count >= 2, timeout=5)
        watches = [r for r in server.requests if r.query.get("watch") == "true"]
        assert watches[-1].query["resourceVersion"] == rv_seen
        assert sum(1 for r in server.requests if "watch" not in r.query) == 1  # no re-list
    finally:
        await inf.stop()
