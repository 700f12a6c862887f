"""Resource names and quantities: container requests/limits, node capacity, quotas."""

from __future__ import annotations

from typing import Any

from kubelite.api.defaults.quantities import parse_quantity_cached
from kubelite.api.quantity import Quantity, QuantityError, canonical
from kubelite.api.validation import names
from kubelite.api.validation.errors import FieldError, child, invalid, key, required

NEGATIVE = "must be greater than or equal to 0"
NOT_INTEGER = "must be an integer"

STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
STANDARD_RESOURCES = STANDARD_CONTAINER_RESOURCES | {
    "requests.cpu", "requests.memory", "requests.ephemeral-storage", "requests.storage",
    "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods", "services",
    "replicationcontrollers", "resourcequotas", "secrets", "persistentvolumeclaims",
    "configmaps", "services.nodeports", "services.loadbalancers", "storage",
}
INTEGER_RESOURCES = {"pods", "services", "replicationcontrollers", "resourcequotas", "secrets",
                     "configmaps", "persistentvolumeclaims", "services.nodeports",
                     "services.loadbalancers"}


def is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def is_extended(name: str) -> bool:
    """A vendor resource such as example.com/gpu: integer-valued, never overcommitted."""
    if is_native(name) or name.startswith("requests."):
        return False
    return not names.is_qualified_name("requests." + name)


def is_overcommit_allowed(name: str) -> bool:
    return is_native(name) and not is_hugepages(name)


def is_standard_container_resource(name: str) -> bool:
    return name in STANDARD_CONTAINER_RESOURCES or is_hugepages(name)


def is_standard_resource(name: str) -> bool:
    return (name in STANDARD_RESOURCES or is_hugepages(name)
            or name.startswith("requests.hugepages-"))


def parse_field(value: Any, path: str, errs: list[FieldError]) -> Quantity | None:
    """Parse a quantity field, recording Kubernetes' decoding message when it is not one."""
    try:
        return parse_quantity_cached(value)
    except QuantityError as e:
        errs.append(invalid(path, value, str(e)))
        return None


def validate_resource_name(name: str, path: str) -> list[FieldError]:
    errs = [invalid(path, name, m) for m in names.is_qualified_name(name)]
    if errs:
        return errs
    if "/" not in name and not is_standard_resource(name):
        return [invalid(path, name, "must be a standard resource type or fully qualified")]
    return []


def validate_container_resource_name(name: str, path: str) -> list[FieldError]:
    errs = validate_resource_name(name, path)
    if "/" not in name:
        if not is_standard_container_resource(name):
            errs.append(invalid(path, name, "must be a standard resource for containers"))
    elif not is_native(name) and not is_extended(name):
        errs.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return errs


def validate_quantity_value(name: str, q: Quantity, raw: Any, path: str) -> list[FieldError]:
    """ValidateResourceQuantityValue: non-negative, and whole for integer resources."""
    errs: list[FieldError] = []
    if q.nanos < 0:
        errs.append(invalid(path, canonical(q), NEGATIVE))
    if (name in INTEGER_RESOURCES or is_extended(name)) and q.milli_value() % 1000:
        errs.append(invalid(path, canonical(q), NOT_INTEGER))
    return errs


def validate_resource_list(resources: dict[str, Any] | None, path: str,
                           container: bool = False) -> list[FieldError]:
    """A map of resource name to quantity (node capacity, quota hard, limit ranges...)."""
    errs: list[FieldError] = []
    for name, raw in (resources or {}).items():
        p = key(path, name)
        if container:
            errs += validate_container_resource_name(name, p)
        else:
            errs += validate_resource_name(name, p)
        q = parse_field(raw, p, errs)
        if q is not None:
            errs += validate_quantity_value(name, q, raw, p)
    return errs


def validate_requirements(limits: dict[str, Any] | None, requests: dict[str, Any] | None,
                          path: str) -> list[FieldError]:
    """Container resources: valid names and quantities, and requests never above limits."""
    lim_path, req_path = child(path, "limits"), child(path, "requests")
    errs = validate_resource_list(limits, lim_path, container=True)
    parsed_limits: dict[str, Quantity] = {}
    for name, raw in (limits or {}).items():
        try:
            parsed_limits[name] = parse_quantity_cached(raw)
        except QuantityError:
            pass
    errs += validate_resource_list(requests, req_path, container=True)
    for name, raw in (requests or {}).items():
        try:
            q = parse_quantity_cached(raw)
        except QuantityError:
            continue
        limit = parsed_limits.get(name)
        if limit is not None:
            if q != limit and not is_overcommit_allowed(name):
                errs.append(invalid(req_path, canonical(q),
                                    f"must be equal to {name} limit of {canonical(limit)}"))
            elif q > limit:
                errs.append(invalid(req_path, canonical(q),
                                    f"must be less than or equal to {name} limit of "
                                    f"{canonical(limit)}"))
        elif not is_overcommit_allowed(name) and name not in (limits or {}):
            errs.append(required(lim_path, "Limit must be set for non overcommitable resources"))
    return errs
