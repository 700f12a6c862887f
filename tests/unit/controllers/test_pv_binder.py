"""The PersistentVolume binder: matching rules first, then reconcile against an in-memory API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.controllers.pv_binder import (
    SELECTED_NODE,
    PersistentVolumeController,
    default_class,
    find_best_match,
    node_affinity_allows,
)
from tests.helpers.wait import eventually
from tests.unit.sim.fake_client import FakeClient

Obj = dict[str, Any]


def pv(name: str, size: str, modes: tuple[str, ...] = ("ReadWriteOnce",), sc: str = "",
       labels: dict[str, str] | None = None, node: str | None = None, **spec: Any) -> Obj:
    s: Obj = {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": sc,
              "hostPath": {"path": f"/tmp/{name}"}, "persistentVolumeReclaimPolicy": "Retain", **spec}
    if node:
        s["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": s,
            "status": {"phase": "Available"}}


def pvc(name: str = "claim", size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
        sc: str | None = "", **spec: Any) -> Obj:
    s: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, **spec}
    if sc is not None:
        s["storageClassName"] = sc
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"}, "spec": s,
            "status": {"phase": "Pending"}}


def test_smallest_fitting_volume_wins() -> None:
    vols = [pv("big", "10Gi"), pv("small", "2Gi"), pv("tiny", "500Mi"), pv("rox", "1Gi", ("ReadOnlyMany",))]
    assert find_best_match(pvc(), vols)["metadata"]["name"] == "small"  # type: ignore[index]


def test_access_modes_class_selector_and_mode_must_match() -> None:
    assert find_best_match(pvc(modes=("ReadWriteMany",)), [pv("a", "5Gi")]) is None
    assert find_best_match(pvc(sc="fast"), [pv("a", "5Gi")]) is None
    assert find_best_match(pvc(sc="fast"), [pv("a", "5Gi", sc="fast")]) is not None
    sel = pvc(selector={"matchLabels": {"tier": "gold"}})
    assert find_best_match(sel, [pv("a", "5Gi"), pv("b", "5Gi", labels={"tier": "gold"})])[
        "metadata"]["name"] == "b"  # type: ignore[index]
    assert find_best_match(pvc(volumeMode="Block"), [pv("a", "5Gi")]) is None


def test_claimed_and_released_volumes_are_skipped_but_prebound_wins() -> None:
    taken = pv("taken", "1Gi", claimRef={"name": "other", "namespace": "default"})
    released = pv("rel", "1Gi")
    released["status"]["phase"] = "Released"
    mine = pv("mine", "50Gi", claimRef={"name": "claim", "namespace": "default"})
    assert find_best_match(pvc(), [taken, released]) is None
    assert find_best_match(pvc(), [pv("a", "1Gi"), mine])["metadata"]["name"] == "mine"  # type: ignore[index]


def test_node_affinity() -> None:
    local = pv("local", "1Gi", node="n1")
    assert node_affinity_allows(local, {"kubernetes.io/hostname": "n1"})
    assert not node_affinity_allows(local, {"kubernetes.io/hostname": "n2"})
    assert find_best_match(pvc(), [local], {"kubernetes.io/hostname": "n2"}) is None


def test_default_class_is_the_annotated_one() -> None:
    classes = [{"metadata": {"name": "a"}},
               {"metadata": {"name": "b", "annotations": {
                   "storageclass.kubernetes.io/is-default-class": "true"}}}]
    assert default_class(classes)["metadata"]["name"] == "b"  # type: ignore[index]
    assert default_class(classes[:1]) is None


# -- reconcile against the fake API ------------------------------------------------------------

@pytest.fixture
async def world() -> AsyncIterator[tuple[FakeClient, PersistentVolumeController]]:
    client = FakeClient()
    ctrl = PersistentVolumeController(client)  # type: ignore[arg-type]
    await ctrl.start()
    yield client, ctrl
    await ctrl.stop()


def phase_of(client: FakeClient, plural: str, name: str, ns: str = "") -> str:
    obj = client.get_obj(plural, name, ns) or {}
    return str((obj.get("status") or {}).get("phase"))


async def test_claim_binds_then_volume_is_released_when_claim_goes(world: Any) -> None:
    client, _ = world
    await client.put_direct("persistentvolumes", pv("v1", "5Gi"))
    await client.put_direct("persistentvolumeclaims", pvc())
    await eventually(lambda: phase_of(client, "persistentvolumeclaims", "claim", "default") == "Bound",
                     timeout=3.0)
    claim = client.get_obj("persistentvolumeclaims", "claim", "default")
    assert claim["spec"]["volumeName"] == "v1"  # type: ignore[index]
    assert claim["status"]["capacity"] == {"storage": "5Gi"}  # type: ignore[index]
    await eventually(lambda: phase_of(client, "persistentvolumes", "v1") == "Bound", timeout=3.0)
    assert client.get_obj("persistentvolumes", "v1")["spec"]["claimRef"]["uid"] == "uid-claim"  # type: ignore[index]
    await client.delete("persistentvolumeclaims", "claim", "default")
    await eventually(lambda: phase_of(client, "persistentvolumes", "v1") == "Released", timeout=3.0)


async def test_delete_policy_without_a_deleter_fails_the_volume(world: Any) -> None:
    client, _ = world
    await client.put_direct("persistentvolumes", pv("v2", "1Gi", persistentVolumeReclaimPolicy="Delete"))
    await client.put_direct("persistentvolumeclaims", pvc())
    await eventually(lambda: phase_of(client, "persistentvolumes", "v2") == "Bound", timeout=3.0)
    await client.delete("persistentvolumeclaims", "claim", "default")
    await eventually(lambda: phase_of(client, "persistentvolumes", "v2") == "Failed", timeout=3.0)
    assert "no deletable volume plugin matched" in client.get_obj(
        "persistentvolumes", "v2")["status"]["message"]  # type: ignore[index]


async def test_wait_for_first_consumer_selects_the_pods_node(world: Any) -> None:
    client, _ = world
    await client.put_direct("storageclasses", {"metadata": {"name": "local-path", "annotations": {
        "storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "rancher.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer"})
    await client.put_direct("persistentvolumeclaims", pvc(sc=None))
    # a claim with no class gets the default one (retroactive assignment)
    await eventually(lambda: (client.get_obj("persistentvolumeclaims", "claim", "default") or {})
                     .get("spec", {}).get("storageClassName") == "local-path", timeout=3.0)
    await asyncio.sleep(0.1)
    assert SELECTED_NODE not in (client.get_obj("persistentvolumeclaims", "claim", "default")
                                 ["metadata"].get("annotations") or {})  # type: ignore[index]
    await client.put_direct("pods", {"metadata": {"name": "p", "namespace": "default"},
                                     "spec": {"nodeName": "n1", "volumes": [
                                         {"name": "v", "persistentVolumeClaim": {"claimName": "claim"}}]}})
    await eventually(lambda: ((client.get_obj("persistentvolumeclaims", "claim", "default") or {})
                              ["metadata"].get("annotations") or {}).get(SELECTED_NODE) == "n1",
                     timeout=3.0)
