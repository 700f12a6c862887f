"""Garbage collector against an in-memory API: dangling owners, orphaning, foreground deletion."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.controllers.garbagecollector import GarbageCollector
from tests.helpers.wait import eventually
from tests.unit.sim.fake_client import FakeClient

Obj = dict[str, Any]


def owned(name: str, owner: Obj, block: bool = True) -> Obj:
    m = owner["metadata"]
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": m["name"], "uid": m["uid"],
         "controller": True, "blockOwnerDeletion": block}]}, "spec": {}}


RS = {"metadata": {"name": "web", "namespace": "default", "uid": "rs-uid"}, "spec": {}}


@pytest.fixture
async def gc() -> AsyncIterator[tuple[FakeClient, GarbageCollector]]:
    client = FakeClient()
    collector = GarbageCollector(client, resources=("replicasets", "pods"))  # type: ignore[arg-type]
    await collector.start()
    try:
        yield client, collector
    finally:
        await collector.stop()


async def test_dependents_of_a_deleted_owner_are_deleted(gc: tuple[FakeClient, GarbageCollector]) -> None:
    client, _ = gc
    await client.put_direct("replicasets", dict(RS))
    await client.put_direct("pods", owned("a", RS))
    await asyncio.sleep(0.1)
    assert client.get_obj("pods", "a", "default") is not None  # the owner exists: kept
    await client.delete("replicasets", "web", "default")
    await eventually(lambda: client.get_obj("pods", "a", "default") is None, timeout=3.0)


async def test_a_dependent_of_an_owner_never_seen_is_checked_live(gc: tuple[FakeClient, GarbageCollector]) -> None:
    client, _ = gc
    await client.put_direct("pods", owned("stray", {"metadata": {"name": "nope", "uid": "nope-uid"}}))
    await eventually(lambda: client.get_obj("pods", "stray", "default") is None, timeout=3.0)
    assert client.count("delete", "pods", "stray") == 1


async def test_orphan_finalizer_releases_dependents_then_goes(gc: tuple[FakeClient, GarbageCollector]) -> None:
    client, _ = gc
    await client.put_direct("replicasets", dict(RS))
    await client.put_direct("pods", owned("a", RS))
    rs = client.get_obj("replicasets", "web", "default")
    assert rs is not None
    rs["metadata"].update(deletionTimestamp="2025-01-01T00:00:00Z", finalizers=["orphan"])
    await client.put_direct("replicasets", rs)
    await eventually(lambda: not (client.get_obj("replicasets", "web", "default") or {})
                     .get("metadata", {}).get("finalizers"), timeout=3.0)
    pod = client.get_obj("pods", "a", "default")
    assert pod is not None and not pod["metadata"].get("ownerReferences")


async def test_foreground_deletion_deletes_dependents_first(gc: tuple[FakeClient, GarbageCollector]) -> None:
    client, _ = gc
    await client.put_direct("replicasets", dict(RS))
    await client.put_direct("pods", owned("a", RS))
    await client.put_direct("pods", owned("b", RS, block=False))
    rs = client.get_obj("replicasets", "web", "default")
    assert rs is not None
    rs["metadata"].update(deletionTimestamp="2025-01-01T00:00:00Z", finalizers=["foregroundDeletion"])
    await client.put_direct("replicasets", rs)
    await eventually(lambda: client.get_obj("pods", "a", "default") is None
                     and client.get_obj("pods", "b", "default") is None, timeout=3.0)
    await eventually(lambda: not (client.get_obj("replicasets", "web", "default") or {})
                     .get("metadata", {}).get("finalizers"), timeout=3.0)
