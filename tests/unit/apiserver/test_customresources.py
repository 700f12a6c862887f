"""CRDs inside the API server: established and served at once, custom objects written through
the generic store with the CRD's strategies, and a deleted CRD taking its objects with it."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kubelite.api import registry
from kubelite.api import status as st
from kubelite.api.openapi import openapi_v3_document, openapi_v3_index
from kubelite.apiserver import objects
from kubelite.apiserver.customresources import CRDS, CustomResources
from kubelite.apiserver.discovery import aggregated, api_group_list, api_resource_list
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.sqlite import SqliteStore

assert CRDS is not None
OPTS = WriteOptions(field_manager="test")
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "gadgets", "kind": "Gadget"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "subresources": {"status": {}},
                      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                          "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                          "status": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}}}],
    },
}
GADGET = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g1"},
          "spec": {"size": 1}, "status": {"ok": True}}


async def eventually(check: Callable[[], Awaitable[Any]], what: str) -> Any:
    for _ in range(200):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[ObjectStore, CustomResources]]:
    store = SqliteStore(str(tmp_path / "state.db"))
    await store.start()
    cache = WatchCache(store)
    await cache.start()
    objs = ObjectStore(store)
    crds = CustomResources(objs)
    await crds.start(cache)
    try:
        yield objs, crds
    finally:
        await crds.stop()
        await cache.stop()
        await store.close()
        registry.set_custom_kinds([])


async def established(objs: ObjectStore) -> Any:
    async def check() -> Any:
        return registry.by_resource("example.com", "v1", "gadgets")
    return await eventually(check, "the Gadget kind served")


async def test_a_new_crd_is_established_and_served(server: tuple[ObjectStore, CustomResources]) -> None:
    objs, _ = server
    result = await objs.create(CRDS, None, copy.deepcopy(CRD), OPTS)
    assert result.obj["status"]["storedVersions"] == ["v1"]
    assert result.obj["spec"]["names"]["listKind"] == "GadgetList"  # defaulted
    kind = await established(objs)
    crd = objects.decode(await objs.get(CRDS, None, "gadgets.example.com"))
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]} == {
        "NamesAccepted": "True", "Established": "True"}
    listed = api_resource_list("example.com", "v1")
    assert listed is not None
    assert [r["name"] for r in listed["resources"]] == ["gadgets", "gadgets/status"]
    assert "apis/example.com/v1" in openapi_v3_index()["paths"]
    groups = [g["name"] for g in api_group_list()["groups"]]
    assert groups[-1] == "example.com"  # custom groups after the built-in ones
    found = aggregated("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", core=False)
    assert found is not None
    group = next(g for g in found[0]["items"] if g["metadata"].get("name") == "example.com")
    resource = group["versions"][0]["resources"][0]
    assert (resource["resource"], resource["scope"], resource["singularResource"]) == ("gadgets", "Namespaced", "gadget")
    assert [s["subresource"] for s in resource["subresources"]] == ["status"]
    assert b'"com.example.v1.Gadget"' in (openapi_v3_document("apis/example.com/v1") or b"")
    assert kind.custom.status


async def test_custom_objects_keep_status_and_count_generations(
        server: tuple[ObjectStore, CustomResources]) -> None:
    objs, _ = server
    await objs.create(CRDS, None, copy.deepcopy(CRD), OPTS)
    kind = await established(objs)
    created = (await objs.create(kind, "default", copy.deepcopy(GADGET), OPTS)).obj
    assert "status" not in created  # dropped on create: /status is a subresource
    assert created["metadata"]["generation"] == 1
    await objs.update(kind, "default", "g1", {**copy.deepcopy(GADGET), "status": {"ok": True}}, OPTS, "status")
    same = (await objs.update(kind, "default", "g1", {**copy.deepcopy(GADGET), "status": {"ok": False}}, OPTS)).obj
    assert same["status"] == {"ok": True}  # the main resource never writes status
    assert same["metadata"]["generation"] == 1
    bigger = copy.deepcopy(GADGET)
    bigger["spec"]["size"] = 2
    grown = (await objs.update(kind, "default", "g1", bigger, OPTS)).obj
    assert grown["metadata"]["generation"] == 2


async def test_deleting_a_crd_removes_its_objects_then_itself(
        server: tuple[ObjectStore, CustomResources]) -> None:
    objs, _ = server
    await objs.create(CRDS, None, copy.deepcopy(CRD), OPTS)
    kind = await established(objs)
    for name in ("a", "b"):
        body = copy.deepcopy(GADGET)
        body["metadata"]["name"] = name
        await objs.create(kind, "default", body, OPTS)
    deleted = (await objs.delete(CRDS, None, "gadgets.example.com", {}, OPTS)).obj
    assert deleted["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    terminating = [c for c in deleted["status"]["conditions"] if c["type"] == "Terminating"]
    assert terminating[0]["reason"] == "InstanceDeletionPending"

    async def gone() -> bool:
        try:
            await objs.get(CRDS, None, "gadgets.example.com")
        except st.NotFound:
            return True
        return False

    await eventually(gone, "the CRD removed")
    assert (await objs.list(kind, None)).items == []
    await eventually(lambda: asyncio.sleep(0, registry.by_resource("example.com", "v1", "gadgets") is None),
                     "the kind no longer served")


async def test_a_big_object_is_validated_off_the_event_loop_with_the_same_verdict(
        server: tuple[ObjectStore, CustomResources]) -> None:
    objs, _ = server
    crd = copy.deepcopy(CRD)
    spec_schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec_schema["properties"]["notes"] = {"type": "array", "items": {"type": "string"}}
    spec_schema["x-kubernetes-validations"] = [{"rule": "self.size <= 10", "message": "too big"}]
    await objs.create(CRDS, None, crd, OPTS)
    kind = await established(objs)
    big = copy.deepcopy(GADGET)
    big["spec"] = {"size": 11, "notes": ["x" * 100] * 500}  # ~50 KB: past the inline limit
    with pytest.raises(st.Invalid) as refused:
        await objs.create(kind, "default", big, OPTS)
    assert "spec: Invalid value: \"object\": too big" in str(refused.value)
    big["spec"]["size"] = 3
    assert (await objs.create(kind, "default", big, OPTS)).code == 201
