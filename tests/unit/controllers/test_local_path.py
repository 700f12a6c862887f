"""The local-path provisioner: default class, a node-pinned hostPath volume per claim."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelite.controllers import local_path
from kubelite.controllers.local_path import LocalPathProvisioner, volume_for
from kubelite.controllers.pv_binder import SELECTED_NODE
from kubelite.kubelet.volumes import manager as volume_manager
from kubelite.kubelet.volumes import reclaim
from tests.unit.sim.fake_client import FakeClient


def claim(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "data", "namespace": "default", "uid": "u-1",
                         "annotations": annotations or {}},
            "spec": {"storageClassName": "local-path", "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "2Gi"}}},
            "status": {"phase": "Pending"}}


def test_names_shared_with_the_kubelet_match() -> None:
    assert reclaim.PROVISIONER == local_path.PROVISIONER
    assert reclaim.SELECTED_NODE == local_path.PV_SELECTED_NODE
    assert volume_manager.LOCAL_PATH_DIR_ANNOTATION == local_path.NODE_DIR_ANNOTATION


def test_volume_shape() -> None:
    pv = volume_for(claim(), local_path.default_storage_class(), "n1", "/data/storage")
    spec = pv["spec"]
    assert pv["metadata"]["name"] == "pvc-u-1"
    assert spec["hostPath"] == {"path": "/data/storage/pvc-u-1_default_data", "type": "DirectoryOrCreate"}
    assert spec["claimRef"]["uid"] == "u-1" and spec["persistentVolumeReclaimPolicy"] == "Delete"
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0][
        "values"] == ["n1"]
    assert spec["capacity"] == {"storage": "2Gi"}


async def test_default_class_made_and_volume_provisioned_on_selected_node() -> None:
    client = FakeClient()
    await client.put_direct("nodes", {"metadata": {"name": "n1", "annotations": {
        local_path.NODE_DIR_ANNOTATION: "/srv/n1"}}})
    ctrl = LocalPathProvisioner(client)  # type: ignore[arg-type]
    await ctrl.start()
    try:
        sc = client.get_obj("storageclasses", "local-path")
        assert sc is not None and sc["volumeBindingMode"] == "WaitForFirstConsumer"
        assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
        await client.put_direct("persistentvolumeclaims", claim())
        await asyncio.sleep(0.1)
        assert client.get_obj("persistentvolumes", "pvc-u-1") is None  # waits for a consumer
        await client.put_direct("persistentvolumeclaims", claim({SELECTED_NODE: "n1"}))
        for _ in range(100):
            if client.get_obj("persistentvolumes", "pvc-u-1"):
                break
            await asyncio.sleep(0.02)
        pv = client.get_obj("persistentvolumes", "pvc-u-1")
        assert pv is not None and pv["spec"]["hostPath"]["path"].startswith("/srv/n1/")
    finally:
        await ctrl.stop()
