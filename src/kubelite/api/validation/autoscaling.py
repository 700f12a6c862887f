"""HorizontalPodAutoscaler validation (pkg/apis/autoscaling/validation/validation.go)."""

from __future__ import annotations

from kubelite.api.quantity import parse_quantity
from kubelite.api.types import autoscaling_v2 as v2
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    index,
    invalid,
    not_supported,
    required,
)
from kubelite.api.validation.meta import (
    validate_object_meta,
    validate_object_meta_update,
)

METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
TARGET_TYPES = ("AverageValue", "Utilization", "Value")
POLICY_TYPES = ("Percent", "Pods")
SELECT_POLICIES = ("Disabled", "Max", "Min")
MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_SECONDS = 3600


def _target(target: v2.MetricTarget, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if target.type not in TARGET_TYPES:
        errs.append(not_supported(child(path, "type"), target.type, TARGET_TYPES))
    if target.average_utilization is not None and target.average_utilization < 1:
        errs.append(invalid(child(path, "averageUtilization"), target.average_utilization,
                            "must be greater than 0"))
    for name, value in (("averageValue", target.average_value), ("value", target.value)):
        if value is not None and parse_quantity(str(value)).nanos <= 0:
            errs.append(invalid(child(path, name), value, "must be positive"))
    wanted = {"Utilization": target.average_utilization, "AverageValue": target.average_value,
              "Value": target.value}.get(target.type, True)
    if wanted is None:
        errs.append(required(path, "must set either a target raw value, a target average value, "
                                   "or a target utilization"))
    return errs


def _metric(metric: v2.MetricSpec, path: str) -> list[FieldError]:
    if metric.type not in METRIC_TYPES:
        return [not_supported(child(path, "type"), metric.type, METRIC_TYPES)]
    source = {"Resource": metric.resource, "ContainerResource": metric.container_resource,
              "Pods": metric.pods, "Object": metric.object, "External": metric.external}[metric.type]
    field = "containerResource" if metric.type == "ContainerResource" else metric.type.lower()
    if source is None:
        return [required(child(path, field), "must populate information for the given metric source")]
    errs = _target(source.target, child(path, field, "target"))
    if isinstance(source, v2.ResourceMetricSource | v2.ContainerResourceMetricSource) and not source.name:
        errs.append(required(child(path, field, "name"), "must specify a resource name"))
    if isinstance(source, v2.ResourceMetricSource) and source.target.type == "Value":
        errs.append(not_supported(child(path, field, "target", "type"), "Value",
                                  ("AverageValue", "Utilization")))
    return errs


def _rules(rules: v2.HPAScalingRules | None, path: str) -> list[FieldError]:
    if rules is None:
        return []
    errs: list[FieldError] = []
    window = rules.stabilization_window_seconds
    if window is not None and not 0 <= window <= MAX_STABILIZATION_SECONDS:
        errs.append(invalid(child(path, "stabilizationWindowSeconds"), window,
                            f"must be less than or equal to {MAX_STABILIZATION_SECONDS}"
                            if window > 0 else "must be greater than or equal to zero"))
    if rules.select_policy is not None and rules.select_policy not in SELECT_POLICIES:
        errs.append(not_supported(child(path, "selectPolicy"), rules.select_policy, SELECT_POLICIES))
    if not rules.policies and rules.select_policy != "Disabled":
        errs.append(required(child(path, "policies"), "must specify at least one Policy"))
    for i, policy in enumerate(rules.policies or []):
        at = index(child(path, "policies"), i)
        if policy.type not in POLICY_TYPES:
            errs.append(not_supported(child(at, "type"), policy.type, POLICY_TYPES))
        if policy.value <= 0:
            errs.append(invalid(child(at, "value"), policy.value, "must be greater than zero"))
        if policy.period_seconds <= 0:
            errs.append(invalid(child(at, "periodSeconds"), policy.period_seconds,
                                "must be greater than zero"))
        elif policy.period_seconds > MAX_PERIOD_SECONDS:
            errs.append(invalid(child(at, "periodSeconds"), policy.period_seconds,
                                f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
    return errs


def validate_hpa(hpa: v2.HorizontalPodAutoscaler) -> list[FieldError]:
    errs = validate_object_meta(hpa.metadata, True, names.name_is_dns_subdomain)
    spec = hpa.spec
    if spec is None:
        return [*errs, required("spec")]
    ref = spec.scale_target_ref
    if not ref.kind:
        errs.append(required(child("spec", "scaleTargetRef", "kind")))
    if not ref.name:
        errs.append(required(child("spec", "scaleTargetRef", "name")))
    else:
        errs += [invalid(child("spec", "scaleTargetRef", "name"), ref.name, m)
                 for m in names.name_is_path_segment(ref.name)]
    if spec.min_replicas is not None and spec.min_replicas < 1:
        errs.append(invalid(child("spec", "minReplicas"), spec.min_replicas,
                            "must be greater than or equal to 1"))
    if spec.max_replicas < 1:
        errs.append(invalid(child("spec", "maxReplicas"), spec.max_replicas, "must be greater than 0"))
    if spec.min_replicas is not None and spec.max_replicas < spec.min_replicas:
        errs.append(invalid(child("spec", "maxReplicas"), spec.max_replicas,
                            "must be greater than or equal to `minReplicas`"))
    for i, metric in enumerate(spec.metrics or []):
        errs += _metric(metric, index(child("spec", "metrics"), i))
    if spec.behavior is not None:
        errs += _rules(spec.behavior.scale_up, child("spec", "behavior", "scaleUp"))
        errs += _rules(spec.behavior.scale_down, child("spec", "behavior", "scaleDown"))
    return errs


def validate_hpa_update(new: v2.HorizontalPodAutoscaler,
                        old: v2.HorizontalPodAutoscaler) -> list[FieldError]:
    return validate_object_meta_update(new.metadata, old.metadata) + validate_hpa(new)


def validate_hpa_status_update(new: v2.HorizontalPodAutoscaler,
                               old: v2.HorizontalPodAutoscaler) -> list[FieldError]:
    """ValidateHorizontalPodAutoscalerStatusUpdate: counts not negative."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    status = new.status
    if status is None:
        return errs
    for name, value in (("currentReplicas", status.current_replicas),
                        ("desiredReplicas", status.desired_replicas)):
        if value is not None and value < 0:
            errs.append(invalid(child("status", name), value, "must be greater than or equal to 0"))
    return errs
