"""The API server keeps its system namespaces: made at start, made again at once when deleted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.apiserver.systemnamespaces import SYSTEM_NAMESPACES, SystemNamespaces
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.sqlite import SqliteStore

NAMESPACES = by_resource("", "v1", "namespaces")
assert NAMESPACES is not None


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, ObjectStore, SystemNamespaces]]:
    store = SqliteStore(str(tmp_path / "state.db"))
    await store.start()
    cache = WatchCache(store)
    await cache.start()
    objs = ObjectStore(store)
    controller = SystemNamespaces(objs)
    await controller.start(cache)
    try:
        yield store, objs, controller
    finally:
        await controller.stop()
        await cache.stop()
        await store.close()


async def uids(store: SqliteStore) -> dict[str, str]:
    assert NAMESPACES is not None
    page = await store.list(objects.collection_prefix(NAMESPACES, None))
    metas = [objects.decode(kv.value)["metadata"] for kv in page.items]
    return {m["name"]: m["uid"] for m in metas}


async def test_made_at_start_and_again_once_deleted(
        parts: tuple[SqliteStore, ObjectStore, SystemNamespaces]) -> None:
    store, objs, controller = parts
    before = await uids(store)
    assert set(before) == set(SYSTEM_NAMESPACES)
    assert NAMESPACES is not None
    # the namespace controller's last step: the finalizer goes and the object with it
    await objs.delete(NAMESPACES, None, "kube-node-lease", {}, WriteOptions())
    await objs.patch(NAMESPACES, None, "kube-node-lease", "application/merge-patch+json",
                     {"spec": {"finalizers": []}}, WriteOptions(), subresource="finalize")
    async with asyncio.timeout(10):  # a watch event away, not the minute's check
        while (await uids(store)).get("kube-node-lease") in (None, before["kube-node-lease"]):
            await asyncio.sleep(0.02)
    assert await controller.ensure() == []


async def test_protected_ones_still_refuse_deletion(
        parts: tuple[SqliteStore, ObjectStore, SystemNamespaces]) -> None:
    _, objs, _ = parts
    assert NAMESPACES is not None
    for name in ("default", "kube-system", "kube-public"):
        with pytest.raises(st.Forbidden, match="this namespace may not be deleted"):
            await objs.delete(NAMESPACES, None, name, {}, WriteOptions())
