"""Core kinds other than Pod, Service and storage: namespaces, nodes, config, quota, events."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from kubelite.api.defaults.quantities import parse_quantity_cached
from kubelite.api.quantity import Quantity, QuantityError, canonical
from kubelite.api.types import core_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    key,
    not_supported,
    required,
    too_long,
)
from kubelite.api.validation.meta import (
    FIELD_IMMUTABLE,
    validate_finalizers,
    validate_immutable,
    validate_label_name,
    validate_object_meta,
    validate_object_meta_update,
)
from kubelite.api.validation.resources import validate_resource_list
from kubelite.api.validation.scheduling import validate_taint_effect

MAX_SECRET_SIZE = 1024 * 1024
IMMUTABLE_DATA = "field is immutable when `immutable` is set"
QUOTA_SCOPES = ("BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating",
                "PriorityClass", "Terminating")
LIMIT_TYPES = ("Container", "PersistentVolumeClaim", "Pod")


def validate_namespace(ns: core_v1.Namespace) -> list[FieldError]:
    errs = validate_object_meta(ns.metadata, False, names.name_is_dns_label)
    finalizers = ns.spec.finalizers if ns.spec else None
    errs += validate_finalizers(finalizers, child("spec", "finalizers"))
    return errs


def validate_namespace_status_update(new: core_v1.Namespace,
                                    old: core_v1.Namespace) -> list[FieldError]:
    """ValidateNamespaceStatusUpdate: the phase follows the deletionTimestamp."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    phase = new.status.phase if new.status else None
    path = child("status", "Phase")  # sic: Kubernetes' path
    if not (new.metadata and new.metadata.deletion_timestamp):
        if phase != "Active":
            errs.append(invalid(path, phase or "", "may only be 'Active' if `deletionTimestamp` "
                                                   "is empty"))
    elif phase != "Terminating":
        errs.append(invalid(path, phase or "", "may only be 'Terminating' if "
                                               "`deletionTimestamp` is not empty"))
    return errs


def _taints(taints: list[core_v1.Taint] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, t in enumerate(taints or []):
        p = index(path, i)
        errs += validate_label_name(t.key, child(p, "key"))
        if t.value:
            errs += [invalid(child(p, "value"), t.value, m)
                     for m in names.is_valid_label_value(t.value)]
        if not t.effect:
            errs.append(required(child(p, "effect")))
        else:
            errs += validate_taint_effect(t.effect, child(p, "effect"))
        if (t.key, t.effect) in seen:
            errs.append(duplicate(p, f"{t.key}:{t.effect}"))
            continue
        seen.add((t.key, t.effect))
    return errs


def validate_node(node: core_v1.Node) -> list[FieldError]:
    errs = validate_object_meta(node.metadata, False, names.name_is_dns_subdomain)
    if node.spec is not None:
        errs += _taints(node.spec.taints, child("spec", "taints"))
    if node.status is not None:
        errs += validate_resource_list(node.status.capacity, child("status", "capacity"))
        errs += validate_resource_list(node.status.allocatable, child("status", "allocatable"))
    return errs


def validate_node_update(new: core_v1.Node, old: core_v1.Node) -> list[FieldError]:
    """ValidateNodeUpdate less its metadata checks: the node is valid and lists each
    address once."""
    errs = validate_node(new)
    seen: set[tuple[str, str]] = set()
    for i, address in enumerate(new.status.addresses or [] if new.status else []):
        pair = (address.type, address.address)
        if pair in seen:
            errs.append(duplicate(index(child("status", "addresses"), i),
                                  {"type": address.type, "address": address.address}))
        seen.add(pair)
    return errs


def validate_node_status_update(new: core_v1.Node, old: core_v1.Node) -> list[FieldError]:
    """nodes/status runs the same ValidateNodeUpdate as nodes."""
    return validate_object_meta_update(new.metadata, old.metadata) + validate_node_update(new, old)


def _decoded_len(value: str) -> int:
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return len(value)


def validate_config_map(cm: core_v1.ConfigMap) -> list[FieldError]:
    errs = validate_object_meta(cm.metadata, True, names.name_is_dns_subdomain)
    data, binary = cm.data or {}, cm.binary_data or {}
    total = 0
    for k, v in data.items():
        errs += [invalid(key("data", k), k, m) for m in names.is_config_map_key(k)]
        if k in binary:
            errs.append(invalid(key("data", k), k, "duplicate of key present in binaryData"))
        total += len(v.encode())
    for k, v in binary.items():
        errs += [invalid(key("binaryData", k), k, m) for m in names.is_config_map_key(k)]
        if k in data:
            errs.append(invalid(key("binaryData", k), k, "duplicate of key present in data"))
        total += _decoded_len(v)
    if total > MAX_SECRET_SIZE:
        # Kubernetes reports the size of the whole object against the root path, "[]".
        errs.append(too_long("[]", "", MAX_SECRET_SIZE))
    return errs


def _immutable_data(new_immutable: bool | None, old_immutable: bool | None,
                    new_data: object, old_data: object, data_field: str) -> list[FieldError]:
    if not old_immutable:
        return []
    errs: list[FieldError] = []
    if not new_immutable:
        errs.append(forbidden("immutable", IMMUTABLE_DATA))
    if new_data != old_data:
        errs.append(forbidden(data_field, IMMUTABLE_DATA))
    return errs


def validate_config_map_update(new: core_v1.ConfigMap, old: core_v1.ConfigMap) -> list[FieldError]:
    errs = _immutable_data(new.immutable, old.immutable, new.data, old.data, "data")
    if old.immutable and new.binary_data != old.binary_data:
        errs.append(forbidden("binaryData", IMMUTABLE_DATA))
    return errs + validate_config_map(new)


SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def validate_secret(secret: core_v1.Secret) -> list[FieldError]:
    errs = validate_object_meta(secret.metadata, True, names.name_is_dns_subdomain)
    data = secret.data or {}
    total = 0
    for k, v in data.items():
        errs += [invalid(key("data", k), k, m) for m in names.is_config_map_key(k)]
        total += _decoded_len(v)
    if total > MAX_SECRET_SIZE:
        errs.append(too_long("data", "", MAX_SECRET_SIZE))
    kind = secret.type or ""
    annotations = (secret.metadata.annotations if secret.metadata else None) or {}
    if kind == "kubernetes.io/service-account-token":
        if not annotations.get("kubernetes.io/service-account.name"):
            errs.append(required(key(child("metadata", "annotations"),
                                     "kubernetes.io/service-account.name")))
    elif kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            errs += [required(key("data", "username")), required(key("data", "password"))]
    elif kind in SECRET_REQUIRED_KEYS:
        for k in SECRET_REQUIRED_KEYS[kind]:
            if k not in data or (kind == "kubernetes.io/ssh-auth" and not data[k]):
                errs.append(required(key("data", k)))
        for k in SECRET_REQUIRED_KEYS[kind]:
            if k.startswith(".docker") and k in data:
                try:
                    json.loads(base64.b64decode(data[k]))
                except (ValueError, binascii.Error) as e:
                    errs.append(invalid(key("data", k), "<secret contents redacted>", str(e)))
    return errs


def validate_secret_update(new: core_v1.Secret, old: core_v1.Secret) -> list[FieldError]:
    errs = validate_immutable(new.type, old.type, "type")
    errs += _immutable_data(new.immutable, old.immutable, new.data, old.data, "data")
    return errs + validate_secret(new)


def validate_service_account(sa: core_v1.ServiceAccount) -> list[FieldError]:
    return validate_object_meta(sa.metadata, True, names.name_is_dns_subdomain)


def validate_event(event: core_v1.Event) -> list[FieldError]:
    errs = validate_object_meta(event.metadata, True, names.name_is_dns_subdomain)
    namespace = event.metadata.namespace or ""
    involved_ns = event.involved_object.namespace or ""
    if not involved_ns:
        if namespace not in ("", "default"):
            errs.append(invalid(child("involvedObject", "namespace"), involved_ns,
                                "does not match event.namespace"))
    elif namespace != involved_ns:
        errs.append(invalid(child("involvedObject", "namespace"), involved_ns,
                            "does not match event.namespace"))
    if event.type and event.type not in ("Normal", "Warning"):
        errs.append(not_supported("type", event.type, ("Normal", "Warning")))
    return errs


def validate_resource_quota(quota: core_v1.ResourceQuota) -> list[FieldError]:
    errs = validate_object_meta(quota.metadata, True, names.name_is_dns_subdomain)
    spec = quota.spec or core_v1.ResourceQuotaSpec()
    errs += validate_resource_list(spec.hard, child("spec", "hard"))
    for scope in spec.scopes or []:
        if scope not in QUOTA_SCOPES:
            errs.append(not_supported(child("spec", "scopes"), scope, QUOTA_SCOPES))
    if quota.status is not None:
        errs += validate_resource_list(quota.status.hard, child("status", "hard"))
        errs += validate_resource_list(quota.status.used, child("status", "used"))
    return errs


def validate_resource_quota_status_update(new: core_v1.ResourceQuota,
                                         old: core_v1.ResourceQuota) -> list[FieldError]:
    """ValidateResourceQuotaStatusUpdate: status.hard and status.used name quota resources
    with valid quantities."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    if new.status is not None:
        errs += validate_resource_list(new.status.hard, child("status", "hard"))
        errs += validate_resource_list(new.status.used, child("status", "used"))
    return errs


def _parsed(values: Mapping[str, object] | None) -> dict[str, Quantity]:
    out: dict[str, Quantity] = {}
    for k, v in (values or {}).items():
        if isinstance(v, str | int | float):
            try:
                out[k] = parse_quantity_cached(v)
            except QuantityError:
                pass  # reported by validate_resource_list
    return out


_LIMIT_ORDER = (
    ("min", "max", "min", "min value {a} is greater than max value {b}"),
    ("defaultRequest", "max", "defaultRequest",
     "default request value {a} is greater than max value {b}"),
    ("min", "defaultRequest", "defaultRequest",
     "min value {a} is greater than default request value {b}"),
    ("default", "max", "default", "default value {a} is greater than max value {b}"),
    ("min", "default", "default", "min value {a} is greater than default value {b}"),
    ("defaultRequest", "default", "defaultRequest",
     "default request value {a} is greater than default limit value {b}"),
)


def _compare(item: core_v1.LimitRangeItem, path: str) -> list[FieldError]:
    """min <= defaultRequest <= default <= max, in Kubernetes' words."""
    maps = {"min": _parsed(item.min), "max": _parsed(item.max),
            "default": _parsed(item.default), "defaultRequest": _parsed(item.default_request)}
    errs: list[FieldError] = []
    for low_field, high_field, report_field, text in _LIMIT_ORDER:
        for name, low in maps[low_field].items():
            high = maps[high_field].get(name)
            if high is not None and low > high:
                errs.append(invalid(key(child(path, report_field), name), canonical(low),
                                    text.format(a=canonical(low), b=canonical(high))))
    return errs


def validate_limit_range(lr: core_v1.LimitRange) -> list[FieldError]:
    errs = validate_object_meta(lr.metadata, True, names.name_is_dns_subdomain)
    limits = lr.spec.limits if lr.spec else []
    seen: set[str] = set()
    for i, item in enumerate(limits):
        p = index(child("spec", "limits"), i)
        if item.type not in LIMIT_TYPES:
            errs.append(not_supported(child(p, "type"), item.type, LIMIT_TYPES))
        elif item.type in seen:
            errs.append(duplicate(child(p, "type"), item.type))
        seen.add(item.type)
        for field, values in (("max", item.max), ("min", item.min), ("default", item.default),
                              ("defaultRequest", item.default_request),
                              ("maxLimitRequestRatio", item.max_limit_request_ratio)):
            errs += validate_resource_list(values, child(p, field))
        if item.type == "Pod" and (item.default or item.default_request):
            errs.append(forbidden(child(p, "default"),
                                  "may not be specified when `type` is 'Pod'"))
        errs += _compare(item, p)
    return errs


__all__ = ["FIELD_IMMUTABLE", "validate_config_map", "validate_config_map_update",
           "validate_event", "validate_limit_range", "validate_namespace",
           "validate_namespace_status_update", "validate_node", "validate_node_status_update",
           "validate_node_update", "validate_resource_quota",
           "validate_resource_quota_status_update", "validate_secret", "validate_secret_update",
           "validate_service_account"]
