"""The sampler's feed: Nodes and bound pods' resources listed once, then kept current from the
watch cache (no LIST per sample)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubelite.api.registry import by_resource
from kubelite.apiserver.dashboard.feed import SamplerFeed
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.sqlite import SqliteStore
from tests.helpers.wait import eventually


def _kind(plural: str) -> Any:
    k = by_resource("", "v1", plural)
    assert k is not None
    return k


def pod(name: str, node: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "250m"}}}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec}


async def test_feed_follows_nodes_and_bound_pods(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "db"))
    await store.start()
    objs = ObjectStore(store)
    await objs.create(_kind("namespaces"), None, {"metadata": {"name": "default"}}, WriteOptions())
    await objs.create(_kind("nodes"), None, {"metadata": {"name": "n1"}}, WriteOptions())
    await objs.create(_kind("pods"), "default", pod("early", "n1"), WriteOptions())
    cache = WatchCache(store)
    await cache.start()
    feed = SamplerFeed(store)
    try:
        await feed.start(cache)
        assert list(feed.nodes) == ["n1"]
        assert [(p.name, p.node, p.resources.cpu_request) for p in feed.pods.values()] == [("early", "n1", 0.25)]
        await objs.create(_kind("pods"), "default", pod("late", "n1"), WriteOptions())
        await objs.create(_kind("pods"), "default", pod("pending"), WriteOptions())  # not bound: not sampled
        await objs.create(_kind("nodes"), None, {"metadata": {"name": "n2"}}, WriteOptions())
        await eventually(lambda: len(feed.pods) == 2 and len(feed.nodes) == 2)
        assert sorted(p.name for p in feed.pods.values()) == ["early", "late"]
    finally:
        await feed.stop()
        await cache.stop()
        await store.close()
