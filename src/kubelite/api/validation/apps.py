"""Deployments and ReplicaSets (pkg/apis/apps/validation)."""

from __future__ import annotations

import re

from kubelite.api.types import apps_v1
from kubelite.api.types.meta_v1 import LabelSelector
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    forbidden,
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

NEGATIVE = "must be greater than or equal to 0"
STRATEGY_TYPES = ("Recreate", "RollingUpdate")
_PERCENT = re.compile(r"[0-9]+%")


def selector_matches(selector: LabelSelector, labels: dict[str, str]) -> bool:
    """Whether a label selector selects a set of labels."""
    for k, v in (selector.match_labels or {}).items():
        if labels.get(k) != v:
            return False
    for req in selector.match_expressions or []:
        present = req.key in labels
        values = req.values or []
        if req.operator == "In" and (not present or labels[req.key] not in values):
            return False
        if req.operator == "NotIn" and present and labels[req.key] in values:
            return False
        if req.operator == "Exists" and not present:
            return False
        if req.operator == "DoesNotExist" and present:
            return False
    return True


def _nonnegative(value: int | None, path: str) -> list[FieldError]:
    if value is not None and value < 0:
        return [invalid(path, value, NEGATIVE)]
    return []


def validate_int_or_percent(value: int | str | None, path: str) -> list[FieldError]:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent."""
    if value is None:
        return []
    if isinstance(value, int):
        return _nonnegative(value, path)
    if not _PERCENT.fullmatch(value):
        return [invalid(path, value, names.regex_error(
            "a valid percent string must be a numeric string followed by an ending '%'",
            "[0-9]+%", "1%", "93%"))]
    if int(value[:-1]) > 100:
        return [invalid(path, value, "must not be greater than 100%")]
    return []


def _int_or_percent_value(value: int | str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    return int(value[:-1]) if _PERCENT.fullmatch(value) else -1


def _selector_and_template(selector: LabelSelector | None, template: object,
                           path: str) -> list[FieldError]:
    from kubelite.api.types.core_v1 import PodTemplateSpec

    errs: list[FieldError] = []
    sel_path = child(path, "selector")
    if selector is None:
        errs.append(required(sel_path))
    else:
        errs += validate_label_selector(selector, sel_path)
        if not selector.match_labels and not selector.match_expressions:
            errs.append(invalid(sel_path, selector, "empty selector is invalid for deployment"))
    tpl_path = child(path, "template")
    if not isinstance(template, PodTemplateSpec):
        errs.append(required(tpl_path))
        return errs
    labels = (template.metadata.labels if template.metadata else None) or {}
    if selector is not None and (selector.match_labels or selector.match_expressions) \
            and not selector_matches(selector, labels):
        errs.append(invalid(child(tpl_path, "metadata", "labels"), labels,
                            "`selector` does not match template `labels`"))
    errs += validate_pod_template(template, tpl_path)
    return errs


def _strategy(strategy: apps_v1.DeploymentStrategy | None, path: str) -> list[FieldError]:
    strategy = strategy or apps_v1.DeploymentStrategy()
    if strategy.type == "Recreate":
        if strategy.rolling_update is not None:
            return [forbidden(child(path, "rollingUpdate"),
                              "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if strategy.type == "RollingUpdate":
        ru = strategy.rolling_update
        if ru is None:
            return [required(child(path, "rollingUpdate"),
                             "this should be defaulted and never be nil")]
        ru_path = child(path, "rollingUpdate")
        errs = validate_int_or_percent(ru.max_unavailable, child(ru_path, "maxUnavailable"))
        errs += validate_int_or_percent(ru.max_surge, child(ru_path, "maxSurge"))
        if _int_or_percent_value(ru.max_unavailable) == 0 and \
                _int_or_percent_value(ru.max_surge) == 0:
            errs.append(invalid(child(ru_path, "maxUnavailable"), ru.max_unavailable,
                                "may not be 0 when `maxSurge` is 0"))
        return errs
    return [not_supported(path, strategy.type or "", STRATEGY_TYPES)]


def validate_deployment(d: apps_v1.Deployment) -> list[FieldError]:
    errs = validate_object_meta(d.metadata, True, names.name_is_dns_subdomain)
    spec = d.spec
    if spec is None:
        return errs + [required("spec")]
    errs += _nonnegative(spec.replicas, child("spec", "replicas"))
    errs += _selector_and_template(spec.selector, spec.template, "spec")
    errs += _strategy(spec.strategy, child("spec", "strategy"))
    errs += _nonnegative(spec.min_ready_seconds, child("spec", "minReadySeconds"))
    errs += _nonnegative(spec.revision_history_limit, child("spec", "revisionHistoryLimit"))
    if spec.progress_deadline_seconds is not None:
        pds_path = child("spec", "progressDeadlineSeconds")
        errs += _nonnegative(spec.progress_deadline_seconds, pds_path)
        if spec.progress_deadline_seconds <= (spec.min_ready_seconds or 0):
            errs.append(invalid(pds_path, spec.progress_deadline_seconds,
                                "must be greater than minReadySeconds"))
    return errs


def _selector_update(new: LabelSelector | None, old: LabelSelector | None) -> list[FieldError]:
    if new != old:
        return [invalid(child("spec", "selector"), new, FIELD_IMMUTABLE)]
    return []


def validate_deployment_update(new: apps_v1.Deployment,
                               old: apps_v1.Deployment) -> list[FieldError]:
    errs = validate_deployment(new)
    errs += _selector_update(new.spec.selector if new.spec else None,
                             old.spec.selector if old.spec else None)
    return errs


def validate_replica_set(rs: apps_v1.ReplicaSet) -> list[FieldError]:
    errs = validate_object_meta(rs.metadata, True, names.name_is_dns_subdomain)
    spec = rs.spec
    if spec is None:
        return errs + [required("spec")]
    errs += _nonnegative(spec.replicas, child("spec", "replicas"))
    errs += _nonnegative(spec.min_ready_seconds, child("spec", "minReadySeconds"))
    errs += _selector_and_template(spec.selector, spec.template, "spec")
    return errs


def validate_replica_set_update(new: apps_v1.ReplicaSet,
                                old: apps_v1.ReplicaSet) -> list[FieldError]:
    errs = validate_replica_set(new)
    errs += _selector_update(new.spec.selector if new.spec else None,
                             old.spec.selector if old.spec else None)
    return errs


ABOVE_REPLICAS = "cannot be greater than status.replicas"
ABOVE_READY = "cannot be greater than readyReplicas"


def _replica_counts(counts: dict[str, int], replicas: int, ready: int,
                    available: int, path: str) -> list[FieldError]:
    """Counts are not negative; none above status.replicas, available not above ready."""
    errs: list[FieldError] = []
    for name, value in counts.items():
        errs += _nonnegative(value, child(path, name))
    for name in ("updatedReplicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        if name in counts and counts[name] > replicas:
            errs.append(invalid(child(path, name), counts[name], ABOVE_REPLICAS))
    if available > ready:
        errs.append(invalid(child(path, "availableReplicas"), available, ABOVE_READY))
    return errs


def validate_deployment_status_update(new: apps_v1.Deployment,
                                      old: apps_v1.Deployment) -> list[FieldError]:
    """ValidateDeploymentStatusUpdate: sane counts, and collisionCount never goes down."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    status = new.status or apps_v1.DeploymentStatus()
    counts = {"observedGeneration": status.observed_generation or 0,
              "replicas": status.replicas or 0, "updatedReplicas": status.updated_replicas or 0,
              "readyReplicas": status.ready_replicas or 0,
              "availableReplicas": status.available_replicas or 0,
              "unavailableReplicas": status.unavailable_replicas or 0}
    before = old.status.collision_count if old.status else None
    return errs + validate_replica_status(counts, status.collision_count, before)


def validate_replica_status(counts: dict[str, int], collision_count: int | None,
                            old_collision_count: int | None) -> list[FieldError]:
    """A workload's status counts (none negative, ready/available within replicas) and its
    collisionCount, which may never go down (Deployments and StatefulSets alike)."""
    if collision_count is not None:
        counts["collisionCount"] = collision_count
    errs = _replica_counts(counts, counts["replicas"], counts["readyReplicas"],
                           counts["availableReplicas"], "status")
    if old_collision_count is not None and (collision_count or 0) < old_collision_count:
        errs.append(invalid(child("status", "collisionCount"), collision_count or 0,
                            "cannot be decremented"))
    return errs


def validate_replica_set_status_update(new: apps_v1.ReplicaSet,
                                       old: apps_v1.ReplicaSet) -> list[FieldError]:
    """ValidateReplicaSetStatusUpdate."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    status = new.status or apps_v1.ReplicaSetStatus(replicas=0)
    counts = {"replicas": status.replicas,
              "fullyLabeledReplicas": status.fully_labeled_replicas or 0,
              "readyReplicas": status.ready_replicas or 0,
              "availableReplicas": status.available_replicas or 0,
              "observedGeneration": status.observed_generation or 0}
    return errs + _replica_counts(counts, counts["replicas"], counts["readyReplicas"],
                                  counts["availableReplicas"], "status")
