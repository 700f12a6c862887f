"""Stored bytes get their resourceVersion spliced in; the watch cache fans events out in order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from kubelite.api.registry import by_resource
from kubelite.api.types.core_v1 import ConfigMap
from kubelite.api.types.meta_v1 import ObjectMeta
from kubelite.apiserver import objects
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.interface import ListResult
from kubelite.store.sqlite import SqliteStore

CONFIGMAPS = by_resource("", "v1", "configmaps")
assert CONFIGMAPS is not None


def cm(name: str, value: str = "1", labels: dict[str, str] | None = None) -> bytes:
    obj = ConfigMap(api_version="v1", kind="ConfigMap", metadata=ObjectMeta(name=name, namespace="default", labels=labels, resource_version="99"), data={"k": value})
    return objects.encode_for_store(obj)


def test_stored_bytes_have_no_resource_version_and_get_one_on_read() -> None:
    data = cm("a")
    assert b"resourceVersion" not in data
    out = msgspec.json.decode(objects.with_resource_version(data, 42))
    assert out["metadata"]["resourceVersion"] == "42"
    assert out["metadata"]["name"] == "a" and out["data"] == {"k": "1"}


def test_keys() -> None:
    assert objects.object_key(CONFIGMAPS, "ns1", "x") == "/registry/core/configmaps/ns1/x"
    assert objects.collection_prefix(CONFIGMAPS, "ns1") == "/registry/core/configmaps/ns1/"
    assert objects.collection_prefix(CONFIGMAPS, None) == "/registry/core/configmaps/"
    assert objects.parse_key("/registry/core/configmaps/ns1/x") == ("core", "configmaps", "ns1", "x")


@pytest.fixture
async def store(tmp_path: Path):
    s = SqliteStore(str(tmp_path / "state.db"))
    await s.start()
    yield s
    await s.close()


async def next_event(watcher) -> tuple[str, dict]:
    item = await asyncio.wait_for(watcher.queue.get(), 5)
    assert item is not None
    kind, ev = item
    return kind, objects.decode(ev.data)


async def test_watchers_see_changes_in_order_with_selector_transitions(store: SqliteStore) -> None:
    cache = WatchCache(store)
    await cache.start()
    try:
        prefix = objects.collection_prefix(CONFIGMAPS, "default")
        everything = cache.subscribe(prefix, cache.revision, None)
        only_blue = cache.subscribe(prefix, cache.revision, lambda o: (o["metadata"].get("labels") or {}).get("c") == "blue")
        key = objects.object_key(CONFIGMAPS, "default", "a")
        r1 = await store.create(key, cm("a", labels={"c": "red"}))
        r2 = await store.update(key, cm("a", labels={"c": "blue"}), r1)
        r3 = await store.update(key, cm("a", "2", labels={"c": "red"}), r2)
        await store.delete(key, r3)
        kinds = [(await next_event(everything))[0] for _ in range(4)]
        assert kinds == ["ADDED", "MODIFIED", "MODIFIED", "DELETED"]
        # the filtered watcher sees the object enter and leave its selection
        k1, o1 = await next_event(only_blue)
        k2, o2 = await next_event(only_blue)
        assert (k1, k2) == ("ADDED", "DELETED")
        assert o1["metadata"]["resourceVersion"] == str(r2)
        assert o2["metadata"]["resourceVersion"] == str(r3)
        assert only_blue.queue.empty()
        # a late watcher from r1 replays exactly what came after r1
        late = cache.subscribe(prefix, r1, None)
        replay = [(await next_event(late))[0] for _ in range(3)]
        assert replay == ["MODIFIED", "MODIFIED", "DELETED"]
    finally:
        await cache.stop()


async def test_watch_from_before_the_cache_is_too_old(store: SqliteStore) -> None:
    key = objects.object_key(CONFIGMAPS, "default", "b")
    await store.create(key, cm("b"))
    cache = WatchCache(store)
    await cache.start()
    try:
        assert cache.too_old(0)
        assert not cache.too_old(cache.revision)
    finally:
        await cache.stop()


class DownStore:
    """A store whose watch fails at once, as one whose etcd is down."""

    def __init__(self) -> None:
        self.tries = 0

    async def current_revision(self) -> int:
        return 7

    async def list(self, prefix: str) -> ListResult:
        return ListResult([], 7, False)

    async def watch(self, prefix: str, revision: int):
        self.tries += 1
        raise ConnectionError("etcd unavailable\nwith a second line")
        yield  # an async generator, like a real store's watch


async def test_a_store_watch_down_logs_one_line_per_try_with_backoff(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from kubelite.apiserver import watchcache

    delays: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(watchcache.asyncio, "sleep", sleep)
    store = DownStore()
    cache = WatchCache(store)  # type: ignore[arg-type]
    await cache.start()
    while store.tries < 6:
        await real_sleep(0)
    await cache.stop()
    assert delays[:6] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]  # doubling, capped
    failures = [r for r in caplog.records if "store watch failed" in r.getMessage()]
    assert failures and all(r.exc_info is None for r in failures)  # no traceback
    assert failures[0].getMessage() == (
        "store watch failed (ConnectionError: etcd unavailable); retrying from revision 7 in 0.5 s")


async def test_the_ring_buffer_keeps_bytes_not_the_dicts_filtered_watchers_decoded(store: SqliteStore) -> None:
    """A filtered watcher decodes every event; the ring buffer must not keep those dicts alive
    (20,000 decoded pods made every full garbage collection of the server take half a second)."""
    cache = WatchCache(store)
    await cache.start()
    try:
        prefix = objects.collection_prefix(CONFIGMAPS, "default")
        blue = cache.subscribe(prefix, cache.revision, lambda o: (o["metadata"].get("labels") or {}).get("c") == "blue")
        key = objects.object_key(CONFIGMAPS, "default", "a")
        r1 = await store.create(key, cm("a", labels={"c": "red"}))
        await store.update(key, cm("a", labels={"c": "blue"}), r1)
        kind, obj = await next_event(blue)
        assert (kind, obj["metadata"]["labels"]) == ("ADDED", {"c": "blue"})
        kept = list(cache._events)
        assert [e.revision for e in kept][-2:] == [r1, r1 + 1]
        assert all(e._obj is None and e._prev is None for e in kept)
        # read again later (an admission cache following its queue), an event decodes afresh
        assert kept[-1].obj["metadata"]["labels"] == {"c": "blue"}
        assert kept[-1].prev is not None and kept[-1]._obj is None
    finally:
        await cache.stop()
