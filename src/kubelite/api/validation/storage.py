"""PersistentVolumes, PersistentVolumeClaims and StorageClasses."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from kubelite.api.types import core_v1, storage_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    forbidden,
    invalid,
    key,
    not_supported,
    required,
)
from kubelite.api.validation.meta import (
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from kubelite.api.validation.resources import parse_field, validate_quantity_value
from kubelite.api.validation.volumes import source_fields

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
VOLUME_MODES = ("Block", "Filesystem")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
NOT_POSITIVE = "must be greater than zero"
PVC_SPEC_IMMUTABLE = ("spec is immutable after creation except resources.requests and "
                      "volumeAttributesClassName for bound claims")

# PersistentVolumeSpec fields that are not volume sources.
_PV_NON_SOURCES = {"accessModes", "capacity", "claimRef", "mountOptions", "nodeAffinity",
                   "persistentVolumeReclaimPolicy", "storageClassName", "volumeMode",
                   "volumeAttributesClassName"}


def _access_modes(modes: list[str] | None, path: str, detail: str = "") -> list[FieldError]:
    if not modes:
        return [required(path, detail)]
    errs: list[FieldError] = []
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.append(not_supported(path, mode, ACCESS_MODES))
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return errs


def _positive_storage(raw: object, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    q = parse_field(raw, path, errs)
    if q is not None:
        if q.nanos <= 0:
            errs.append(invalid(path, str(q), NOT_POSITIVE))
        else:
            errs += validate_quantity_value("storage", q, raw, path)
    return errs


def validate_persistent_volume(pv: core_v1.PersistentVolume) -> list[FieldError]:
    errs = validate_object_meta(pv.metadata, False, names.name_is_dns_subdomain)
    spec = pv.spec or core_v1.PersistentVolumeSpec()
    errs += _access_modes(spec.access_modes, child("spec", "accessModes"))
    capacity = spec.capacity or {}
    if not capacity:
        errs.append(required(child("spec", "capacity")))
    elif "storage" not in capacity or len(capacity) > 1:
        errs.append(not_supported(child("spec", "capacity"), capacity, ["storage"]))
    for name, raw in capacity.items():
        errs += _positive_storage(raw, key(child("spec", "capacity"), name))
    policy = spec.persistent_volume_reclaim_policy
    if policy and policy not in RECLAIM_POLICIES:
        errs.append(not_supported(child("spec", "persistentVolumeReclaimPolicy"), policy,
                                  RECLAIM_POLICIES))
    sources = [f for f in source_fields(spec) if f not in _PV_NON_SOURCES]
    if not sources:
        errs.append(required("spec", "must specify a volume type"))
    elif len(sources) > 1:
        errs.append(forbidden(child("spec", sources[1]), "may not specify more than 1 volume type"))
    if spec.host_path is not None and not spec.host_path.path:
        errs.append(required(child("spec", "hostPath", "path")))
    if spec.local is not None and not spec.local.path:
        errs.append(required(child("spec", "local", "path")))
    if spec.volume_mode and spec.volume_mode not in VOLUME_MODES:
        errs.append(not_supported(child("spec", "volumeMode"), spec.volume_mode, VOLUME_MODES))
    if spec.storage_class_name:
        errs += [invalid(child("spec", "storageClassName"), spec.storage_class_name, m)
                 for m in names.is_dns1123_subdomain(spec.storage_class_name)]
    return errs


def validate_persistent_volume_update(new: core_v1.PersistentVolume,
                                      old: core_v1.PersistentVolume) -> list[FieldError]:
    errs = validate_persistent_volume(new)
    new_spec = new.spec or core_v1.PersistentVolumeSpec()
    old_spec = old.spec or core_v1.PersistentVolumeSpec()
    if new_spec.volume_mode != old_spec.volume_mode:
        errs.append(invalid(child("spec", "volumeMode"), new_spec.volume_mode, "field is immutable"))
    return errs


def validate_persistent_volume_claim(pvc: core_v1.PersistentVolumeClaim) -> list[FieldError]:
    errs = validate_object_meta(pvc.metadata, True, names.name_is_dns_subdomain)
    spec = pvc.spec or core_v1.PersistentVolumeClaimSpec()
    errs += _access_modes(spec.access_modes, child("spec", "accessModes"),
                          "at least 1 access mode is required")
    errs += validate_label_selector(spec.selector, child("spec", "selector"))
    requests = (spec.resources.requests if spec.resources else None) or {}
    storage_path = key(child("spec", "resources"), "storage")
    if "storage" not in requests:
        errs.append(required(storage_path))
    else:
        errs += _positive_storage(requests["storage"], storage_path)
    if spec.storage_class_name:
        errs += [invalid(child("spec", "storageClassName"), spec.storage_class_name, m)
                 for m in names.is_dns1123_subdomain(spec.storage_class_name)]
    if spec.volume_mode and spec.volume_mode not in VOLUME_MODES:
        errs.append(not_supported(child("spec", "volumeMode"), spec.volume_mode, VOLUME_MODES))
    return errs


def validate_persistent_volume_claim_update(new: core_v1.PersistentVolumeClaim,
                                            old: core_v1.PersistentVolumeClaim) -> list[FieldError]:
    """Only resources.requests may change (volumeName and storageClassName may be set once)."""
    errs = validate_persistent_volume_claim(new)
    new_spec = new.spec or core_v1.PersistentVolumeClaimSpec()
    old_spec = old.spec or core_v1.PersistentVolumeClaimSpec()
    munged = msgspec.structs.replace(new_spec, resources=old_spec.resources,
                                     volume_attributes_class_name=old_spec.volume_attributes_class_name)
    if not old_spec.volume_name:
        munged.volume_name = old_spec.volume_name
    if old_spec.storage_class_name is None:
        # a claim without a class may get one later (retroactive default StorageClass, 1.28+)
        munged.storage_class_name = None
    if munged != old_spec:
        errs.append(forbidden("spec", PVC_SPEC_IMMUTABLE))
    return errs


def _basic_resources(resources: Mapping[str, object] | None, path: str) -> list[FieldError]:
    """validateBasicResource for each entry: a quantity that is not negative."""
    errs: list[FieldError] = []
    for name, raw in (resources or {}).items():
        p = key(path, name)
        q = parse_field(raw, p, errs)
        if q is not None and q.nanos < 0:
            errs.append(invalid(p, q.value(), "must be a valid resource quantity"))
    return errs


def validate_persistent_volume_claim_status_update(
        new: core_v1.PersistentVolumeClaim, old: core_v1.PersistentVolumeClaim) -> list[FieldError]:
    """ValidatePersistentVolumeClaimStatusUpdate: capacities are quantities."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    if not (new.spec and new.spec.access_modes):
        errs.append(required(child("Spec", "accessModes")))  # sic: Kubernetes' path
    status = new.status or core_v1.PersistentVolumeClaimStatus()
    errs += _basic_resources(status.capacity, child("status", "capacity"))
    errs += _basic_resources(status.allocated_resources, child("status", "allocatedResources"))
    return errs


def validate_storage_class(sc: storage_v1.StorageClass) -> list[FieldError]:
    errs = validate_object_meta(sc.metadata, False, names.name_is_dns_subdomain)
    if not sc.provisioner:
        errs.append(required("provisioner"))
    else:
        errs += [invalid("provisioner", sc.provisioner, m)
                 for m in names.is_qualified_name(sc.provisioner.lower())]
    if sc.reclaim_policy and sc.reclaim_policy not in ("Delete", "Retain"):
        errs.append(not_supported("reclaimPolicy", sc.reclaim_policy, ("Delete", "Retain")))
    if sc.volume_binding_mode and sc.volume_binding_mode not in BINDING_MODES:
        errs.append(not_supported("volumeBindingMode", sc.volume_binding_mode, BINDING_MODES))
    return errs


def validate_storage_class_update(new: storage_v1.StorageClass,
                                  old: storage_v1.StorageClass) -> list[FieldError]:
    errs = validate_storage_class(new)
    for field, a, b in (("parameters", new.parameters, old.parameters),
                        ("provisioner", new.provisioner, old.provisioner),
                        ("reclaimPolicy", new.reclaim_policy, old.reclaim_policy),
                        ("volumeBindingMode", new.volume_binding_mode, old.volume_binding_mode)):
        if a != b:
            if field == "parameters":
                errs.append(forbidden(field, "updates to parameters are forbidden."))
            elif field == "provisioner":
                errs.append(forbidden(field, "updates to provisioner are forbidden."))
            elif field == "reclaimPolicy":
                errs.append(forbidden(field, "updates to reclaimPolicy are forbidden."))
            else:
                errs.append(invalid(field, a, "field is immutable"))
    return errs
