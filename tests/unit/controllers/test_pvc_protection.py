"""pvc-protection and pv-protection finalizers."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelite.controllers.pvc_protection import (
    PV_FINALIZER,
    PVC_FINALIZER,
    PVCProtectionController,
    PVProtectionController,
    pod_uses_claim,
    with_finalizer,
)
from tests.helpers.wait import eventually
from tests.unit.sim.fake_client import FakeClient


def pod(phase: str) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default"},
            "spec": {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}]},
            "status": {"phase": phase}}


def test_pure_helpers() -> None:
    assert pod_uses_claim(pod("Running"), "c") and pod_uses_claim(pod("Pending"), "c")
    assert not pod_uses_claim(pod("Succeeded"), "c") and not pod_uses_claim(pod("Running"), "x")
    obj = {"metadata": {"name": "c", "finalizers": ["other"]}}
    assert with_finalizer(obj, PVC_FINALIZER, True)["metadata"]["finalizers"] == ["other", PVC_FINALIZER]  # type: ignore[index]
    assert with_finalizer(obj, "other", True) is None
    assert with_finalizer(obj, "other", False)["metadata"]["finalizers"] == []  # type: ignore[index]


async def test_claim_finalizer_kept_while_a_running_pod_uses_it() -> None:
    client = FakeClient()
    ctrl = PVCProtectionController(client)  # type: ignore[arg-type]
    await ctrl.start()
    try:
        await client.put_direct("pods", pod("Running"))
        await client.put_direct("persistentvolumeclaims", {"metadata": {"name": "c", "namespace": "default"}})

        def finalizers() -> list[str]:
            return (client.get_obj("persistentvolumeclaims", "c", "default") or {}).get(
                "metadata", {}).get("finalizers") or []

        await eventually(lambda: finalizers() == [PVC_FINALIZER], timeout=3.0)
        obj = client.get_obj("persistentvolumeclaims", "c", "default")
        assert obj is not None
        obj["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
        await client.put_direct("persistentvolumeclaims", obj)
        await asyncio.sleep(0.2)
        assert finalizers() == [PVC_FINALIZER]  # in use: kept
        await client.put_direct("pods", pod("Succeeded"))
        await eventually(lambda: finalizers() == [], timeout=3.0)
    finally:
        await ctrl.stop()


async def test_volume_finalizer_released_when_not_bound() -> None:
    client = FakeClient()
    ctrl = PVProtectionController(client)  # type: ignore[arg-type]
    await ctrl.start()
    try:
        await client.put_direct("persistentvolumes", {"metadata": {"name": "v"}, "status": {"phase": "Bound"}})

        def finalizers() -> list[str]:
            return (client.get_obj("persistentvolumes", "v") or {}).get("metadata", {}).get(
                "finalizers") or []

        await eventually(lambda: finalizers() == [PV_FINALIZER], timeout=3.0)
        obj = client.get_obj("persistentvolumes", "v")
        assert obj is not None
        obj["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
        await client.put_direct("persistentvolumes", obj)
        await asyncio.sleep(0.2)
        assert finalizers() == [PV_FINALIZER]
        obj = client.get_obj("persistentvolumes", "v")
        assert obj is not None
        obj["status"]["phase"] = "Released"
        await client.put_direct("persistentvolumes", obj)
        await eventually(lambda: finalizers() == [], timeout=3.0)
    finally:
        await ctrl.stop()
