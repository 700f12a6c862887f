"""`kubectl get pv`, `pvc` and `storageclasses` cells."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.registry import Kind, by_kind
from kubelite.api.tables import column_definitions, row_cells


def must_kind(group: str, name: str) -> Kind:
    kind = by_kind(group, "v1", name)
    assert kind is not None
    return kind


PV = must_kind("", "PersistentVolume")
PVC = must_kind("", "PersistentVolumeClaim")
SC = must_kind("storage.k8s.io", "StorageClass")
NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
CREATED = "2024-05-01T10:00:00Z"


def pv(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": "pv-data", "creationTimestamp": CREATED},
            "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "local",
                     "hostPath": {"path": "/data"}, **spec},
            "status": {"phase": "Bound"}}


def test_pv_columns() -> None:
    assert [(c["name"], c["priority"]) for c in column_definitions(PV)] == [
        ("Name", 0), ("Capacity", 0), ("Access Modes", 0), ("Reclaim Policy", 0), ("Status", 0),
        ("Claim", 0), ("StorageClass", 0), ("VolumeAttributesClass", 0), ("Reason", 0), ("Age", 0),
        ("VolumeMode", 1)]


def test_bound_pv_row() -> None:
    obj = pv(claimRef={"namespace": "default", "name": "data"}, volumeMode="Filesystem")
    assert row_cells(PV, obj, NOW) == [
        "pv-data", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "local", "<unset>", "", "120m",
        "Filesystem"]


def test_pv_being_deleted_and_beta_class_annotation() -> None:
    obj = pv()
    obj["metadata"]["deletionTimestamp"] = CREATED
    obj["metadata"]["annotations"] = {"volume.beta.kubernetes.io/storage-class": "old-class"}
    obj["status"] = {"phase": "Released", "reason": "Reclaiming"}
    cells = row_cells(PV, obj, NOW)
    assert (cells[4], cells[5], cells[6], cells[8], cells[10]) == ("Terminating", "", "old-class", "Reclaiming",
                                                                  "<unset>")


def pvc(bound: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                            "storageClassName": "local"}
    status: dict[str, Any] = {"phase": "Pending"}
    if bound:
        spec["volumeName"] = "pv-data"
        status = {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadWriteOncePod"],
                  "capacity": {"storage": "10Gi"}}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "default", "creationTimestamp": CREATED},
            "spec": spec, "status": status}


def test_pvc_rows_bound_and_pending() -> None:
    assert [c["name"] for c in column_definitions(PVC)] == [
        "Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass",
        "Age", "VolumeMode"]
    assert row_cells(PVC, pvc(True), NOW) == [
        "data", "Bound", "pv-data", "10Gi", "RWO,RWOP", "local", "<unset>", "120m", "<unset>"]
    assert row_cells(PVC, pvc(False), NOW) == [
        "data", "Pending", "", "", "", "local", "<unset>", "120m", "<unset>"]


def test_storage_class_rows() -> None:
    assert [c["name"] for c in column_definitions(SC)] == [
        "Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"]
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
          "metadata": {"name": "local", "creationTimestamp": CREATED,
                       "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
          "provisioner": "kubelite.io/hostpath", "volumeBindingMode": "WaitForFirstConsumer",
          "allowVolumeExpansion": True}
    assert row_cells(SC, sc, NOW) == [
        "local (default)", "kubelite.io/hostpath", "Delete", "WaitForFirstConsumer", True, "120m"]
    plain = {"metadata": {"name": "slow", "creationTimestamp": CREATED}, "provisioner": "x",
             "reclaimPolicy": "Retain"}
    assert row_cells(SC, plain, NOW) == ["slow", "x", "Retain", "Immediate", False, "120m"]
