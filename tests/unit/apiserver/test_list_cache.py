"""The watch cache's table of current objects, which LISTs are served from."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from kubelite.api.registry import by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.list_cache import ListCache, cached_page, from_cache, split_key
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.sqlite import SqliteStore

PODS = by_resource("", "v1", "pods")
NODES = by_resource("", "v1", "nodes")
POD_PREFIX = objects.collection_prefix(PODS, None)

_names = hs.text(alphabet="ab-.z0", min_size=1, max_size=4)


def test_keys_split_into_resource_namespace_and_name() -> None:
    assert split_key("/registry/core/pods/ns/a") == ("/registry/core/pods/", "ns", "a")
    assert split_key("/registry/core/nodes/n1") == ("/registry/core/nodes/", "", "n1")
    assert split_key("/registry/core") is None
    assert split_key("/registry/compact_rev_key") is None  # the etcd compactor's, in the watch


@pytest.mark.parametrize(("rv", "limit", "token", "exact", "cached"), [
    ("", 0, "", False, True),         # a consistent LIST
    ("0", 0, "", False, True),        # any state
    ("17", 0, "", False, True),       # NotOlderThan
    ("0", 500, "", False, True),      # an informer's first LIST: whole, the limit ignored
    ("", 500, "", False, False),      # a page (kubectl get): the store, which can continue it
    ("17", 500, "", False, False),    # a page at a revision (legacy Exact)
    ("", 500, "tok", False, False),   # a continuation
    ("17", 0, "", True, False),       # resourceVersionMatch=Exact
])
def test_which_lists_come_from_memory_as_kubernetes_decides(
        rv: str, limit: int, token: str, exact: bool, cached: bool) -> None:
    assert from_cache(rv, limit, token, exact) is cached


@given(hs.lists(hs.tuples(_names, _names), max_size=30))
def test_a_list_is_in_store_key_order(pairs: list[tuple[str, str]]) -> None:
    cache = ListCache()
    keys = {f"{POD_PREFIX}{ns}/{name}" for ns, name in pairs}
    cache.load([(k, k.encode()) for k in keys])
    assert cache.items(POD_PREFIX, None) == [k.encode() for k in sorted(keys)]
    for ns in {ns for ns, _ in pairs}:
        assert cache.items(POD_PREFIX, ns) == [k.encode() for k in sorted(keys) if k.startswith(f"{POD_PREFIX}{ns}/")]


def test_put_replaces_delete_removes_and_a_name_selects() -> None:
    cache = ListCache()
    cache.put(f"{POD_PREFIX}a/x", b"1")
    cache.put(f"{POD_PREFIX}b/x", b"2")
    cache.put(f"{POD_PREFIX}a/x", b"3")
    cache.put(f"{POD_PREFIX}a/y", b"4")
    assert cache.items(POD_PREFIX, None, "x") == [b"3", b"2"]
    assert cache.items(POD_PREFIX, "a", "y") == [b"4"]
    cache.delete(f"{POD_PREFIX}a/x")
    cache.delete(f"{POD_PREFIX}a/y")
    cache.delete(f"{POD_PREFIX}zz/y")  # absent: nothing happens
    assert cache.items(POD_PREFIX, None) == [b"2"]
    assert cache.items(POD_PREFIX, "a") == []
    assert cache.count() == 1


@pytest.fixture
async def store(tmp_path: Path):
    s = SqliteStore(str(tmp_path / "state.db"))
    await s.start()
    yield s
    await s.close()


def pod(name: str, node: str = "") -> bytes:
    return objects.encode({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                           "spec": {"nodeName": node}})


async def test_lists_come_from_memory_and_follow_every_write(store: SqliteStore) -> None:
    before = await store.create(objects.object_key(PODS, "default", "old"), pod("old"))
    cache = WatchCache(store)
    await cache.start()  # loads what the store holds
    try:
        r1 = await store.create(objects.object_key(PODS, "default", "new"), pod("new", "n1"))
        # consistent: the store's revision, once the cache has seen it
        page = await cached_page(cache, store, PODS, "default", resource_version="", matches=None, exact_name=None)
        assert page is not None and page.revision == r1
        assert [objects.decode(i)["metadata"]["resourceVersion"] for i in page.items] == [str(r1), str(before)]
        on_n1 = await cached_page(cache, store, PODS, None, resource_version="0", exact_name=None,
                                  matches=lambda o: o["spec"].get("nodeName") == "n1")
        assert on_n1 is not None and [objects.decode(i)["metadata"]["name"] for i in on_n1.items] == ["new"]
        await store.delete(objects.object_key(PODS, "default", "old"))
        page = await cached_page(cache, store, PODS, None, resource_version="", matches=None, exact_name=None)
        assert page is not None and len(page.items) == 1
        nodes = await cached_page(cache, store, NODES, None, resource_version="", matches=None, exact_name=None)
        assert nodes is not None and nodes.items == []
    finally:
        await cache.stop()


async def test_a_cache_that_does_not_catch_up_leaves_the_list_to_the_store(store: SqliteStore) -> None:
    cache = WatchCache(store)
    await cache.start()
    await cache.stop()  # no more events: the cache stays where it is
    await store.create(objects.object_key(PODS, "default", "a"), pod("a"))
    page = await cached_page(cache, store, PODS, None, resource_version="", matches=None, exact_name=None)
    assert page is None


async def test_a_cache_catching_up_is_waited_for_while_it_moves(store: SqliteStore) -> None:
    """After a burst of writes the cache may be thousands of events behind: a consistent LIST
    waits for it as long as it moves (each step here comes within the stall time, all of them
    well after it)."""
    cache = WatchCache(store)
    await cache.start()
    await cache.stop()  # events are published by hand below
    start = cache.revision
    for name in ("a", "b", "c", "d"):
        await store.create(objects.object_key(PODS, "default", name), pod(name))
    events = []
    async for ev in store.watch(objects.REGISTRY_PREFIX, start):
        events.append(ev)
        if len(events) == 4:
            break

    async def publish_slowly() -> None:
        for ev in events:
            await asyncio.sleep(0.15)
            cache._publish(ev)

    feeding = asyncio.create_task(publish_slowly())
    page = await cached_page(cache, store, PODS, "default", resource_version="", matches=None, exact_name=None)
    await feeding
    assert page is not None and page.revision == start + 4
    assert [objects.decode(i)["metadata"]["name"] for i in page.items] == ["a", "b", "c", "d"]
