"""The generic REST store against an in-process SQLite store: every per-kind difference comes
from the kind's declarations (strategy, store options), as in Kubernetes' registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.store.sqlite import SqliteStore


def _kind(group: str, plural: str) -> Kind:
    kind = by_resource(group, "v1", plural)
    assert kind is not None
    return kind


PODS, SERVICES, NODES, NAMESPACES = (_kind("", p) for p in ("pods", "services", "nodes", "namespaces"))
CONFIGMAPS, QUOTAS = _kind("", "configmaps"), _kind("", "resourcequotas")
DEPLOYMENTS, REPLICASETS = _kind("apps", "deployments"), _kind("apps", "replicasets")
LEASES = _kind("coordination.k8s.io", "leases")
PDBS = _kind("policy", "poddisruptionbudgets")
OPTS = WriteOptions(field_manager="test")
SELECTOR = {"matchLabels": {"app": "a"}}
TEMPLATE = {"metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.fixture
async def removed() -> list[dict[str, Any]]:
    return []


@pytest.fixture
async def objs(tmp_path: Path, removed: list[dict[str, Any]]) -> AsyncIterator[ObjectStore]:
    store = SqliteStore(str(tmp_path / "state.db"))
    await store.start()

    async def after_delete(kind: Kind, last: dict[str, Any]) -> None:
        removed.append(last)

    try:
        yield ObjectStore(store, after_delete=[after_delete])
    finally:
        await store.close()


def _body(kind: Kind, name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": {"name": name}, **fields}


def _pod(name: str, node: str = "", **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, **meta}, "spec": spec}


async def _gone(objs: ObjectStore, kind: Kind, namespace: str | None, name: str) -> bool:
    try:
        await objs.get(kind, namespace, name)
    except st.NotFound:
        return True
    return False


# ----- create: the status PrepareForCreate leaves

@pytest.mark.parametrize(("kind", "body", "status"), [
    (SERVICES, {"spec": {"ports": [{"port": 80}]}}, {"loadBalancer": {}}),
    (DEPLOYMENTS, {"spec": {"selector": SELECTOR, "template": TEMPLATE}}, {}),
    (REPLICASETS, {"spec": {"selector": SELECTOR, "template": TEMPLATE}}, {"replicas": 0}),
    (PDBS, {"spec": {"minAvailable": 1, "selector": SELECTOR}},
     {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}),
    (QUOTAS, {"spec": {"hard": {"pods": "1"}}}, {}),
])
async def test_a_created_object_has_the_status_kubernetes_starts_it_with(
    objs: ObjectStore, kind: Kind, body: dict[str, Any], status: dict[str, Any],
) -> None:
    sent = _body(kind, "x", **body)
    if kind is REPLICASETS:
        sent["status"] = {"replicas": 3}  # what a client sends is dropped
    result = await objs.create(kind, "default", sent, OPTS)
    assert result.code == 201
    assert result.obj["status"] == status


async def test_a_node_created_without_status_shows_its_empty_daemon_endpoints_and_info(objs: ObjectStore) -> None:
    status = (await objs.create(NODES, None, _body(NODES, "n"), OPTS)).obj["status"]
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 0}}
    assert status["nodeInfo"]["machineID"] == "" and status["nodeInfo"]["kubeletVersion"] == ""


# ----- update options

@pytest.mark.parametrize("rv", [None, "0"])
async def test_a_node_takes_an_update_without_a_resource_version(objs: ObjectStore, rv: str | None) -> None:
    await objs.create(NODES, None, _body(NODES, "n"), OPTS)
    body = _body(NODES, "n", spec={"unschedulable": True})
    if rv is not None:
        body["metadata"]["resourceVersion"] = rv
    result = await objs.update(NODES, None, "n", body, OPTS)
    assert result.obj["spec"] == {"unschedulable": True}


async def test_a_lease_refuses_an_update_without_a_resource_version(objs: ObjectStore) -> None:
    created = await objs.create(LEASES, "default", _body(LEASES, "l", spec={"holderIdentity": "a"}), OPTS)
    body = _body(LEASES, "l", spec={"holderIdentity": "b"})
    with pytest.raises(st.Invalid) as refused:
        await objs.update(LEASES, "default", "l", body, OPTS)
    assert refused.value.message == (
        'leases.coordination.k8s.io "l" is invalid: metadata.resourceVersion: '
        "Invalid value: 0x0: must be specified for an update")
    assert refused.value.details == {
        "name": "l", "group": "coordination.k8s.io", "kind": "leases",
        "causes": [{"reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                    "message": "Invalid value: 0x0: must be specified for an update"}]}
    body["metadata"]["resourceVersion"] = created.obj["metadata"]["resourceVersion"]
    assert (await objs.update(LEASES, "default", "l", body, OPTS)).obj["spec"]["holderIdentity"] == "b"
    with pytest.raises(st.Conflict):  # now stale
        await objs.update(LEASES, "default", "l", body, OPTS)


async def test_a_put_creates_only_the_kinds_that_allow_create_on_update(objs: ObjectStore) -> None:
    svc = _body(SERVICES, "s", spec={"ports": [{"port": 80}]})
    created = await objs.update(SERVICES, "default", "s", svc, OPTS)
    assert created.code == 201 and created.obj["status"] == {"loadBalancer": {}}
    with pytest.raises(st.NotFound):
        await objs.update(CONFIGMAPS, "default", "c", _body(CONFIGMAPS, "c"), OPTS)
    with pytest.raises(st.NotFound):  # never through a subresource
        await objs.update(SERVICES, "default", "t", _body(SERVICES, "t"), OPTS, "status")


async def test_a_patch_needs_no_resource_version_even_where_updates_do(objs: ObjectStore) -> None:
    await objs.create(LEASES, "default", _body(LEASES, "l", spec={"holderIdentity": "a"}), OPTS)
    patched = await objs.patch(LEASES, "default", "l", "application/merge-patch+json",
                               {"spec": {"holderIdentity": "b"}}, OPTS)
    assert patched.obj["spec"]["holderIdentity"] == "b"


# ----- delete: what answers, and what stays

async def test_a_deleted_config_map_answers_with_a_success_status(
    objs: ObjectStore, removed: list[dict[str, Any]],
) -> None:
    uid = (await objs.create(CONFIGMAPS, "default", _body(CONFIGMAPS, "c"), OPTS)).obj["metadata"]["uid"]
    result = await objs.delete(CONFIGMAPS, "default", "c", {}, OPTS)
    assert (result.code, result.body) == (200, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": "c", "kind": "configmaps", "uid": uid}})
    assert await _gone(objs, CONFIGMAPS, "default", "c")
    assert [r["metadata"]["name"] for r in removed] == ["c"]


@pytest.mark.parametrize("kind", [SERVICES, QUOTAS])
async def test_kinds_that_return_the_deleted_object_answer_with_it(objs: ObjectStore, kind: Kind) -> None:
    spec = {"ports": [{"port": 80}]} if kind is SERVICES else {"hard": {"pods": "1"}}
    await objs.create(kind, "default", _body(kind, "s", spec=spec), OPTS)
    result = await objs.delete(kind, "default", "s", {}, OPTS)
    assert result.body is None and result.code == 200
    assert (result.obj["kind"], result.obj["metadata"]["name"]) == (kind.kind, "s")
    assert await _gone(objs, kind, "default", "s")


async def test_an_unbound_pod_goes_at_once_and_answers_with_itself(objs: ObjectStore) -> None:
    await objs.create(PODS, "default", _pod("p"), OPTS)
    result = await objs.delete(PODS, "default", "p", {}, OPTS)
    assert result.body is None and result.obj["kind"] == "Pod"
    assert result.obj["metadata"]["deletionTimestamp"]  # as marked before its removal
    assert await _gone(objs, PODS, "default", "p")


async def test_a_bound_pod_gets_its_grace_period_which_later_deletes_may_only_shorten(objs: ObjectStore) -> None:
    await objs.create(PODS, "default", _pod("p", node="n1"), OPTS)
    first = await objs.delete(PODS, "default", "p", {}, OPTS)
    meta = first.obj["metadata"]
    assert (first.code, meta["deletionGracePeriodSeconds"]) == (200, 30) and meta["deletionTimestamp"]
    again = await objs.delete(PODS, "default", "p", {"gracePeriodSeconds": 60}, OPTS)
    assert again.obj["metadata"]["deletionGracePeriodSeconds"] == 30  # a longer one changes nothing
    assert again.obj["metadata"]["resourceVersion"] == meta["resourceVersion"]
    shorter = await objs.delete(PODS, "default", "p", {"gracePeriodSeconds": 10}, OPTS)
    assert shorter.obj["metadata"]["deletionGracePeriodSeconds"] == 10
    final = await objs.delete(PODS, "default", "p", {"gracePeriodSeconds": 0}, OPTS)  # the kubelet's
    assert final.body is None and final.obj["metadata"]["deletionGracePeriodSeconds"] == 0
    assert await _gone(objs, PODS, "default", "p")


async def test_a_pod_deleted_with_no_grace_and_a_finalizer_waits_for_the_finalizer(objs: ObjectStore) -> None:
    await objs.create(PODS, "default", _pod("p", node="n1", finalizers=["x/y"]), OPTS)
    held = await objs.delete(PODS, "default", "p", {"gracePeriodSeconds": 0}, OPTS)
    assert held.obj["metadata"]["deletionGracePeriodSeconds"] == 0
    body = held.obj
    body["metadata"]["finalizers"] = []
    await objs.update(PODS, "default", "p", body, OPTS)
    assert await _gone(objs, PODS, "default", "p")


async def test_finalizers_hold_an_object_until_the_last_one_goes(
    objs: ObjectStore, removed: list[dict[str, Any]],
) -> None:
    await objs.create(CONFIGMAPS, "default", _body(CONFIGMAPS, "c", metadata={"name": "c", "finalizers": ["a/b", "c/d"]}), OPTS)
    held = await objs.delete(CONFIGMAPS, "default", "c", {}, OPTS)
    assert held.body is None and held.code == 200  # the object, marked, as Kubernetes answers
    assert held.obj["metadata"]["deletionGracePeriodSeconds"] == 0 and held.obj["metadata"]["deletionTimestamp"]
    again = await objs.delete(CONFIGMAPS, "default", "c", {}, OPTS)
    assert again.obj["metadata"]["deletionTimestamp"] == held.obj["metadata"]["deletionTimestamp"]
    one_left = {**held.obj, "metadata": {**held.obj["metadata"], "finalizers": ["c/d"]}}
    await objs.update(CONFIGMAPS, "default", "c", one_left, OPTS)
    assert not await _gone(objs, CONFIGMAPS, "default", "c") and removed == []
    await objs.patch(CONFIGMAPS, "default", "c", "application/merge-patch+json",
                     {"metadata": {"finalizers": None}}, OPTS)
    assert await _gone(objs, CONFIGMAPS, "default", "c")
    assert [r["metadata"]["name"] for r in removed] == ["c"]  # the after-delete hooks ran


@pytest.mark.parametrize(("options", "finalizers"), [
    ({"propagationPolicy": "Orphan"}, ["orphan"]),
    ({"orphanDependents": True}, ["orphan"]),
    ({"propagationPolicy": "Foreground"}, ["foregroundDeletion"]),
])
async def test_propagation_policy_adds_its_finalizer(
    objs: ObjectStore, options: dict[str, Any], finalizers: list[str],
) -> None:
    body = _body(DEPLOYMENTS, "d", spec={"selector": SELECTOR, "template": TEMPLATE})
    created = await objs.create(DEPLOYMENTS, "default", body, OPTS)
    result = await objs.delete(DEPLOYMENTS, "default", "d", options, OPTS)
    meta = result.obj["metadata"]
    assert meta["finalizers"] == finalizers and meta["deletionTimestamp"]
    assert meta["generation"] == created.obj["metadata"]["generation"] + 1  # markAsDeleting
    assert result.code == 200


async def test_an_explicit_orphan_dependents_false_on_a_held_object_answers_202(objs: ObjectStore) -> None:
    await objs.create(CONFIGMAPS, "default", _body(CONFIGMAPS, "c", metadata={"name": "c", "finalizers": ["a/b"]}), OPTS)
    assert (await objs.delete(CONFIGMAPS, "default", "c", {"orphanDependents": False}, OPTS)).code == 202


async def test_a_background_delete_takes_back_an_orphan_finalizer_it_finds(objs: ObjectStore) -> None:
    body = _body(CONFIGMAPS, "c", metadata={"name": "c", "finalizers": ["orphan"]})
    await objs.create(CONFIGMAPS, "default", body, OPTS)
    result = await objs.delete(CONFIGMAPS, "default", "c", {"propagationPolicy": "Background"}, OPTS)
    assert result.body is not None and result.body["status"] == "Success"
    assert await _gone(objs, CONFIGMAPS, "default", "c")


async def test_a_dry_run_delete_leaves_the_object(objs: ObjectStore) -> None:
    await objs.create(PODS, "default", _pod("p", node="n1"), OPTS)
    result = await objs.delete(PODS, "default", "p", {}, WriteOptions(dry_run=True))
    assert result.obj["metadata"]["deletionGracePeriodSeconds"] == 30
    assert "deletionTimestamp" not in objects.decode(await objs.get(PODS, "default", "p"))["metadata"]


# ----- namespaces: protected names, Terminating, finalize

async def test_protected_namespaces_may_not_be_deleted(objs: ObjectStore) -> None:
    await objs.create(NAMESPACES, None, _body(NAMESPACES, "kube-system"), OPTS)
    with pytest.raises(st.Forbidden) as refused:
        await objs.delete(NAMESPACES, None, "kube-system", {}, OPTS)
    assert refused.value.message == 'namespaces "kube-system" is forbidden: this namespace may not be deleted'
    assert refused.value.details == {"name": "kube-system", "kind": "namespaces"}


async def test_a_deleted_namespace_terminates_until_finalized(objs: ObjectStore) -> None:
    await objs.create(NAMESPACES, None, _body(NAMESPACES, "ns"), OPTS)
    result = await objs.delete(NAMESPACES, None, "ns", {}, OPTS)
    assert result.obj["status"]["phase"] == "Terminating" and result.obj["metadata"]["deletionTimestamp"]
    again = await objs.delete(NAMESPACES, None, "ns", {}, OPTS)
    assert again.obj["kind"] == "Namespace" and again.code == 200
    finalized = {**result.obj, "spec": {"finalizers": []}}
    await objs.update(NAMESPACES, None, "ns", finalized, OPTS, "finalize")
    assert await _gone(objs, NAMESPACES, None, "ns")


async def test_finalize_changes_only_the_spec_finalizers(objs: ObjectStore) -> None:
    await objs.create(NAMESPACES, None, _body(NAMESPACES, "ns"), OPTS)
    body = _body(NAMESPACES, "ns", metadata={"name": "ns", "labels": {"a": "b"}},
                 spec={"finalizers": ["x/y"]}, status={"phase": "Terminating"})
    result = await objs.update(NAMESPACES, None, "ns", body, OPTS, "finalize")
    assert result.obj["spec"] == {"finalizers": ["x/y"]}
    assert result.obj["status"] == {"phase": "Active"} and "a" not in result.obj["metadata"]["labels"]
