"""ReplicationControllers and PodTemplates (pkg/apis/core/validation)."""

from __future__ import annotations

from kubelite.api.types import core_v1
from kubelite.api.validation import names
from kubelite.api.validation.apps import _nonnegative
from kubelite.api.validation.errors import FieldError, child, invalid, required
from kubelite.api.validation.meta import (
    FIELD_IMMUTABLE,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from kubelite.api.validation.pod import validate_pod_spec, validate_pod_template

SELECTOR_MISMATCH = "`selector` does not match template `labels`"


def validate_replication_controller(rc: core_v1.ReplicationController) -> list[FieldError]:
    """ValidateReplicationControllerSpec: a non-empty map selector the template labels match."""
    errs = validate_object_meta(rc.metadata, True, names.name_is_dns_subdomain)
    spec = rc.spec
    if spec is None:
        return errs + [required("spec")]
    selector = spec.selector or {}
    if not selector:
        errs.append(required(child("spec", "selector")))
    errs += validate_labels(selector, child("spec", "selector"))
    errs += _nonnegative(spec.replicas, child("spec", "replicas"))
    errs += _nonnegative(spec.min_ready_seconds, child("spec", "minReadySeconds"))
    tpl_path = child("spec", "template")
    if spec.template is None:
        return errs + [required(tpl_path)]
    labels = (spec.template.metadata.labels if spec.template.metadata else None) or {}
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        errs.append(invalid(child(tpl_path, "metadata", "labels"), labels, SELECTOR_MISMATCH))
    errs += validate_pod_template(spec.template, tpl_path)
    return errs


def validate_replication_controller_update(new: core_v1.ReplicationController,
                                           old: core_v1.ReplicationController) -> list[FieldError]:
    return validate_replication_controller(new)


def validate_replication_controller_status_update(
        new: core_v1.ReplicationController, old: core_v1.ReplicationController) -> list[FieldError]:
    errs = validate_object_meta_update(new.metadata, old.metadata)
    status = new.status or core_v1.ReplicationControllerStatus(replicas=0)
    for field in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas",
                  "observedGeneration"):
        attr = "".join("_" + c.lower() if c.isupper() else c for c in field)
        errs += _nonnegative(getattr(status, attr), child("status", field))
    return errs


def validate_pod_template_object(pt: core_v1.PodTemplate) -> list[FieldError]:
    """ValidatePodTemplate: any restart policy, a full pod spec."""
    errs = validate_object_meta(pt.metadata, True, names.name_is_dns_subdomain)
    template = pt.template
    if template is None or template.spec is None:
        return errs + [required(child("template", "spec", "containers"))]
    meta = template.metadata
    errs += validate_labels(meta.labels if meta else None, child("template", "metadata", "labels"))
    return errs + validate_pod_spec(template.spec, child("template", "spec"))


def validate_pod_template_update(new: core_v1.PodTemplate,
                                 old: core_v1.PodTemplate) -> list[FieldError]:
    return validate_pod_template_object(new)


__all__ = ["FIELD_IMMUTABLE", "validate_pod_template_object", "validate_replication_controller"]
