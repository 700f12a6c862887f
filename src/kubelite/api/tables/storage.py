"""`kubectl get pv`, `pvc` and `storageclasses`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.tables._base import (
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    doc,
    meta,
    name,
    name_column,
    quantity,
    spec,
    status,
)

PV_SPEC = "io.k8s.api.core.v1.PersistentVolumeSpec"
PV_STATUS = "io.k8s.api.core.v1.PersistentVolumeStatus"
PVC_SPEC = "io.k8s.api.core.v1.PersistentVolumeClaimSpec"
PVC_STATUS = "io.k8s.api.core.v1.PersistentVolumeClaimStatus"
STORAGE_CLASS = "io.k8s.api.storage.v1.StorageClass"

# The pre-GA way of naming a volume's class; it wins over spec.storageClassName.
BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
IS_DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                                "storageclass.beta.kubernetes.io/is-default-class")

_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"),
                 ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))


def access_modes(modes: list[str] | None) -> str:
    """GetAccessModesAsString: `RWO,ROX,RWX,RWOP` in that order, duplicates dropped."""
    present = set(modes or [])
    return ",".join(short for mode, short in _ACCESS_MODES if mode in present)


def _phase(obj: Obj) -> str:
    if meta(obj).get("deletionTimestamp"):
        return "Terminating"
    phase: str = status(obj).get("phase") or ""
    return phase


def _class(obj: Obj, from_spec: str | None) -> str:
    annotations = meta(obj).get("annotations") or {}
    if BETA_STORAGE_CLASS_ANNOTATION in annotations:
        beta: str = annotations[BETA_STORAGE_CLASS_ANNOTATION]
        return beta
    return from_spec or ""


PV_COLUMNS = columns(
    name_column(),
    Column("Capacity", "string", doc(PV_SPEC, "capacity")),
    Column("Access Modes", "string", doc(PV_SPEC, "accessModes")),
    Column("Reclaim Policy", "string", doc(PV_SPEC, "persistentVolumeReclaimPolicy")),
    Column("Status", "string", doc(PV_STATUS, "phase")),
    Column("Claim", "string", doc(PV_SPEC, "claimRef")),
    Column("StorageClass", "string", "StorageClass of the pv"),
    Column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
    Column("Reason", "string", doc(PV_STATUS, "reason")),
    age_column(),
    Column("VolumeMode", "string", doc(PV_SPEC, "volumeMode"), priority=1),
)


def pv_row(pv: Obj, now: dt.datetime) -> list[Any]:
    pv_spec = spec(pv)
    claim_ref = pv_spec.get("claimRef")
    claim = f"{claim_ref.get('namespace') or ''}/{claim_ref.get('name') or ''}" if claim_ref else ""
    return [
        name(pv), quantity(pv_spec.get("capacity"), "storage"),
        access_modes(pv_spec.get("accessModes")),
        pv_spec.get("persistentVolumeReclaimPolicy") or "", _phase(pv), claim,
        _class(pv, pv_spec.get("storageClassName")),
        pv_spec.get("volumeAttributesClassName") or "<unset>",
        status(pv).get("reason") or "", age(pv, now),
        pv_spec.get("volumeMode") or "<unset>",
    ]


PVC_COLUMNS = columns(
    name_column(),
    Column("Status", "string", doc(PVC_STATUS, "phase")),
    Column("Volume", "string", doc(PVC_SPEC, "volumeName")),
    Column("Capacity", "string", doc(PVC_STATUS, "capacity")),
    Column("Access Modes", "string", doc(PVC_STATUS, "accessModes")),
    Column("StorageClass", "string", "StorageClass of the pvc"),
    Column("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
    age_column(),
    Column("VolumeMode", "string", doc(PVC_SPEC, "volumeMode"), priority=1),
)


def pvc_row(pvc: Obj, now: dt.datetime) -> list[Any]:
    pvc_spec, pvc_status = spec(pvc), status(pvc)
    capacity = modes = ""
    if pvc_spec.get("volumeName"):  # only a bound claim shows what it got
        capacity = quantity(pvc_status.get("capacity"), "storage")
        modes = access_modes(pvc_status.get("accessModes"))
    return [
        name(pvc), _phase(pvc), pvc_spec.get("volumeName") or "", capacity, modes,
        _class(pvc, pvc_spec.get("storageClassName")),
        pvc_spec.get("volumeAttributesClassName") or "<unset>", age(pvc, now),
        pvc_spec.get("volumeMode") or "<unset>",
    ]


STORAGE_CLASS_COLUMNS = columns(
    name_column(),
    Column("Provisioner", "string", doc(STORAGE_CLASS, "provisioner")),
    Column("ReclaimPolicy", "string", doc(STORAGE_CLASS, "reclaimPolicy")),
    Column("VolumeBindingMode", "string", doc(STORAGE_CLASS, "volumeBindingMode")),
    Column("AllowVolumeExpansion", "string", doc(STORAGE_CLASS, "allowVolumeExpansion")),
    age_column(),
)


def storage_class_row(sc: Obj, now: dt.datetime) -> list[Any]:
    annotations = meta(sc).get("annotations") or {}
    default = any(annotations.get(a) == "true" for a in IS_DEFAULT_CLASS_ANNOTATIONS)
    return [
        name(sc) + (" (default)" if default else ""), sc.get("provisioner") or "",
        sc.get("reclaimPolicy") or "Delete", sc.get("volumeBindingMode") or "Immediate",
        bool(sc.get("allowVolumeExpansion")), age(sc, now),
    ]


PV = Printer(PV_COLUMNS, pv_row)
PVC = Printer(PVC_COLUMNS, pvc_row)
STORAGE_CLASS_PRINTER = Printer(STORAGE_CLASS_COLUMNS, storage_class_row)
