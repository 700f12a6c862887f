"""StatefulSets and ControllerRevisions (pkg/apis/apps/validation: ValidateStatefulSet,
ValidateControllerRevision and their update and status checks)."""

from __future__ import annotations

import msgspec

from kubelite.api.types import apps_v1, core_v1
from kubelite.api.validation import names
from kubelite.api.validation.apps import _nonnegative, selector_matches, validate_replica_status
from kubelite.api.validation.errors import (
    FieldError,
    child,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
)
from kubelite.api.validation.meta import (
    FIELD_IMMUTABLE,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from kubelite.api.validation.pod import validate_pod_template

POD_MANAGEMENT_POLICIES = ("OrderedReady", "Parallel")
UPDATE_STRATEGIES = ("RollingUpdate", "OnDelete")
RETENTION_POLICIES = ("Retain", "Delete")
# ValidateStatefulSetUpdate's refusal of any other spec change, word for word.
SPEC_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                  "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                  "'minReadySeconds' are forbidden")


def _update_strategy(strategy: apps_v1.StatefulSetUpdateStrategy | None) -> list[FieldError]:
    path = child("spec", "updateStrategy")
    strategy = strategy or apps_v1.StatefulSetUpdateStrategy()
    if not strategy.type:
        return [required(child(path, "type"))]
    if strategy.type == "OnDelete":
        if strategy.rolling_update is not None:
            return [invalid(child(path, "rollingUpdate"), strategy.rolling_update,
                            "only allowed for updateStrategy 'RollingUpdate'")]
        return []
    if strategy.type == "RollingUpdate":
        ru = strategy.rolling_update
        return _nonnegative(ru.partition if ru else None,
                            child(path, "rollingUpdate", "partition"))
    return [not_supported(child(path, "type"), strategy.type, UPDATE_STRATEGIES)]


def _retention(policy: apps_v1.StatefulSetPersistentVolumeClaimRetentionPolicy | None
               ) -> list[FieldError]:
    path = child("spec", "persistentVolumeClaimRetentionPolicy")
    if policy is None:
        return []
    errs: list[FieldError] = []
    for field, value in (("whenDeleted", policy.when_deleted), ("whenScaled", policy.when_scaled)):
        if value not in RETENTION_POLICIES:
            errs.append(not_supported(child(path, field), value or "", RETENTION_POLICIES))
    return errs


def _selector_and_template(spec: apps_v1.StatefulSetSpec) -> list[FieldError]:
    sel_path = child("spec", "selector")
    errs = validate_label_selector(spec.selector, sel_path)
    empty = not spec.selector.match_labels and not spec.selector.match_expressions
    if empty:
        errs.append(invalid(sel_path, spec.selector, "empty selector is invalid for statefulset"))
    template = spec.template
    labels = (template.metadata.labels if template.metadata else None) or {}
    if not empty and not selector_matches(spec.selector, labels):
        errs.append(invalid(child("spec", "template", "metadata", "labels"), labels,
                            "`selector` does not match template `labels`"))
    errs += validate_pod_template(_with_claim_volumes(spec), child("spec", "template"))
    return errs


def _with_claim_volumes(spec: apps_v1.StatefulSetSpec) -> core_v1.PodTemplateSpec:
    """The template as its pods get it: a volume per claim template, which the containers
    may mount though the template itself does not declare it."""
    if spec.template.spec is None or not spec.volume_claim_templates:
        return spec.template
    claims = [core_v1.Volume(name=c.metadata.name, persistent_volume_claim=(
        core_v1.PersistentVolumeClaimVolumeSource(claim_name=c.metadata.name)))
        for c in spec.volume_claim_templates if c.metadata is not None and c.metadata.name]
    names_ = {v.name for v in claims}
    volumes = claims + [v for v in spec.template.spec.volumes or [] if v.name not in names_]
    pod_spec = msgspec.structs.replace(spec.template.spec, volumes=volumes)
    return msgspec.structs.replace(spec.template, spec=pod_spec)


def validate_stateful_set(sts: apps_v1.StatefulSet) -> list[FieldError]:
    errs = validate_object_meta(sts.metadata, True, names.name_is_dns_subdomain)
    spec = sts.spec
    if spec is None:
        return errs + [required("spec")]
    policy = spec.pod_management_policy
    if not policy:
        errs.append(required(child("spec", "podManagementPolicy")))
    elif policy not in POD_MANAGEMENT_POLICIES:
        errs.append(not_supported(child("spec", "podManagementPolicy"), policy,
                                  POD_MANAGEMENT_POLICIES))
    errs += _update_strategy(spec.update_strategy)
    errs += _retention(spec.persistent_volume_claim_retention_policy)
    errs += _nonnegative(spec.replicas, child("spec", "replicas"))
    errs += _nonnegative(spec.min_ready_seconds, child("spec", "minReadySeconds"))
    errs += _nonnegative(spec.ordinals.start if spec.ordinals else None,
                         child("spec", "ordinals", "start"))
    if spec.service_name:
        errs += [invalid(child("spec", "serviceName"), spec.service_name, m)
                 for m in names.is_dns1123_label(spec.service_name)]
    for i, claim in enumerate(spec.volume_claim_templates or []):
        claim_name = (claim.metadata.name if claim.metadata else None) or ""
        path = child(index(child("spec", "volumeClaimTemplates"), i), "metadata", "name")
        if not claim_name:
            errs.append(required(path, "name or generateName is required"))
        else:
            errs += [invalid(path, claim_name, m) for m in names.is_dns1123_subdomain(claim_name)]
    return errs + _selector_and_template(spec)


def _comparable(spec: apps_v1.StatefulSetSpec) -> apps_v1.StatefulSetSpec:
    """The spec without the fields an update may change."""
    return msgspec.structs.replace(
        spec, replicas=None, ordinals=None, template=None, update_strategy=None,  # type: ignore[arg-type]
        persistent_volume_claim_retention_policy=None, min_ready_seconds=None,
        revision_history_limit=None)


def validate_stateful_set_update(new: apps_v1.StatefulSet,
                                 old: apps_v1.StatefulSet) -> list[FieldError]:
    errs = validate_stateful_set(new)
    if new.spec is not None and old.spec is not None \
            and _comparable(new.spec) != _comparable(old.spec):
        errs.append(forbidden("spec", SPEC_FORBIDDEN))
    return errs


def validate_stateful_set_status_update(new: apps_v1.StatefulSet,
                                        old: apps_v1.StatefulSet) -> list[FieldError]:
    """ValidateStatefulSetStatusUpdate: sane counts; collisionCount never goes down."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    status = new.status or apps_v1.StatefulSetStatus(replicas=0)
    counts = {"replicas": status.replicas, "readyReplicas": status.ready_replicas or 0,
              "currentReplicas": status.current_replicas or 0,
              "updatedReplicas": status.updated_replicas or 0,
              "availableReplicas": status.available_replicas or 0,
              "observedGeneration": status.observed_generation or 0}
    before = old.status.collision_count if old.status else None
    return errs + validate_replica_status(counts, status.collision_count, before)


def validate_controller_revision(rev: apps_v1.ControllerRevision) -> list[FieldError]:
    errs = validate_object_meta(rev.metadata, True, names.name_is_dns_subdomain)
    if rev.data is None:
        errs.append(required("data", "data is mandatory"))
    return errs + _nonnegative(rev.revision, "revision")


def validate_controller_revision_update(new: apps_v1.ControllerRevision,
                                        old: apps_v1.ControllerRevision) -> list[FieldError]:
    errs = validate_controller_revision(new)
    if new.data != old.data:
        errs.append(invalid("data", "", FIELD_IMMUTABLE))
    return errs
