"""PriorityClass validation (pkg/apis/scheduling/validation/validation.go)."""

from __future__ import annotations

from kubelite.api.priority import (
    HIGHEST_USER_DEFINABLE_PRIORITY,
    PREEMPTION_POLICIES,
    SYSTEM_PRIORITY_CLASS_PREFIX,
    known_system_class_error,
)
from kubelite.api.types import scheduling_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import FieldError, forbidden, not_supported
from kubelite.api.validation.meta import validate_immutable, validate_object_meta


def validate_priority_class(pc: scheduling_v1.PriorityClass) -> list[FieldError]:
    """Names starting with `system-` are the system classes' only; users stay at or below 1e9."""
    errs = validate_object_meta(pc.metadata, False, names.name_is_dns_subdomain)
    name = (pc.metadata.name if pc.metadata else None) or ""
    if name.startswith(SYSTEM_PRIORITY_CLASS_PREFIX):
        problem = known_system_class_error(name, pc.value, bool(pc.global_default))
        if problem:
            errs.append(forbidden("metadata.name", (
                f"priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved "
                f"for system use only. error: {problem}")))
    elif pc.value > HIGHEST_USER_DEFINABLE_PRIORITY:
        errs.append(forbidden("value", "maximum allowed value of a user defined priority is "
                                       f"{HIGHEST_USER_DEFINABLE_PRIORITY}"))
    if pc.preemption_policy is not None and pc.preemption_policy not in PREEMPTION_POLICIES:
        errs.append(not_supported("preemptionPolicy", pc.preemption_policy, PREEMPTION_POLICIES))
    return errs


def validate_priority_class_update(new: scheduling_v1.PriorityClass,
                                   old: scheduling_v1.PriorityClass) -> list[FieldError]:
    """Value and preemptionPolicy are fixed once created."""
    errs: list[FieldError] = []
    if new.value != old.value:
        errs.append(forbidden("value", "may not be changed in an update."))
    errs += validate_immutable(new.preemption_policy, old.preemption_policy, "preemptionPolicy")
    return errs
