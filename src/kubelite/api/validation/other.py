"""Small kinds: Lease, PodDisruptionBudget, Binding."""

from __future__ import annotations

from kubelite.api.types import coordination_v1, core_v1, policy_v1
from kubelite.api.validation import names
from kubelite.api.validation.apps import validate_int_or_percent
from kubelite.api.validation.errors import FieldError, child, invalid, not_supported, required
from kubelite.api.validation.meta import (
    validate_conditions,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)

EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")


def validate_lease(lease: coordination_v1.Lease) -> list[FieldError]:
    errs = validate_object_meta(lease.metadata, True, names.name_is_dns_subdomain)
    spec = lease.spec
    if spec is None:
        return errs
    if spec.lease_duration_seconds is not None and spec.lease_duration_seconds <= 0:
        errs.append(invalid(child("spec", "leaseDurationSeconds"), spec.lease_duration_seconds,
                            "must be greater than 0"))
    if spec.lease_transitions is not None and spec.lease_transitions < 0:
        errs.append(invalid(child("spec", "leaseTransitions"), spec.lease_transitions,
                            "must be greater than or equal to 0"))
    return errs


def validate_pod_disruption_budget(pdb: policy_v1.PodDisruptionBudget) -> list[FieldError]:
    errs = validate_object_meta(pdb.metadata, True, names.name_is_dns_subdomain)
    spec = pdb.spec or policy_v1.PodDisruptionBudgetSpec()
    if spec.min_available is not None and spec.max_unavailable is not None:
        errs.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
    errs += validate_int_or_percent(spec.min_available, child("spec", "minAvailable"))
    errs += validate_int_or_percent(spec.max_unavailable, child("spec", "maxUnavailable"))
    errs += validate_label_selector(spec.selector, child("spec", "selector"))
    policy = spec.unhealthy_pod_eviction_policy
    if policy is not None and policy not in EVICTION_POLICIES:
        errs.append(not_supported(child("spec", "unhealthyPodEvictionPolicy"), policy,
                                  EVICTION_POLICIES))
    return errs


def validate_pod_disruption_budget_status_update(
        new: policy_v1.PodDisruptionBudget, old: policy_v1.PodDisruptionBudget) -> list[FieldError]:
    """ValidatePodDisruptionBudgetStatusUpdate (policy/v1): valid conditions, no negative
    counts."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    status = new.status
    if status is None:
        return errs
    errs += validate_conditions(status.conditions, child("status", "conditions"))
    for name, value in (("disruptionsAllowed", status.disruptions_allowed),
                        ("currentHealthy", status.current_healthy),
                        ("desiredHealthy", status.desired_healthy),
                        ("expectedPods", status.expected_pods)):
        if value < 0:
            errs.append(invalid(child("status", name), value, "must be greater than or equal to 0"))
    return errs


def validate_binding(binding: core_v1.Binding) -> list[FieldError]:
    """ValidatePodBinding: the target must name a Node."""
    errs: list[FieldError] = []
    if binding.target.kind and binding.target.kind != "Node":
        errs.append(not_supported(child("target", "kind"), binding.target.kind,
                                  ("Node", "<empty>")))
    if not binding.target.name:
        errs.append(required(child("target", "name")))
    return errs
