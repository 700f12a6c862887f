"""rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding, as
Kubernetes' pkg/apis/rbac/validation (names are path segments, ValidateRBACName)."""

from __future__ import annotations

from typing import Any

from kubelite.api.types import rbac_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    index,
    invalid,
    not_supported,
    required,
)
from kubelite.api.validation.meta import validate_label_selector, validate_object_meta

GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def validate_policy_rule(rule: rbac_v1.PolicyRule, namespaced: bool, path: str) -> list[FieldError]:
    """ValidatePolicyRule: verbs always; either non-resource URLs or groups and resources."""
    errs: list[FieldError] = []
    if not rule.verbs:
        errs.append(required(child(path, "verbs"), "verbs must contain at least one value"))
    if rule.non_resource_urls:
        if namespaced:
            errs.append(invalid(child(path, "nonResourceURLs"), rule.non_resource_urls,
                                "namespaced rules cannot apply to non-resource URLs"))
        if rule.api_groups or rule.resources or rule.resource_names:
            errs.append(invalid(child(path, "nonResourceURLs"), rule.non_resource_urls,
                                "rules cannot apply to both regular resources and non-resource URLs"))
        return errs
    if not rule.api_groups:
        errs.append(required(child(path, "apiGroups"), "resource rules must supply at least one api group"))
    if not rule.resources:
        errs.append(required(child(path, "resources"), "resource rules must supply at least one resource"))
    return errs


def _rules(rules: list[rbac_v1.PolicyRule] | None, namespaced: bool) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, rule in enumerate(rules or []):
        errs += validate_policy_rule(rule, namespaced, index("rules", i))
    return errs


def validate_role(role: rbac_v1.Role) -> list[FieldError]:
    return validate_object_meta(role.metadata, True, names.name_is_path_segment) + _rules(role.rules, True)


def validate_cluster_role(role: rbac_v1.ClusterRole) -> list[FieldError]:
    errs = validate_object_meta(role.metadata, False, names.name_is_path_segment) + _rules(role.rules, False)
    if role.aggregation_rule is not None:
        selectors = role.aggregation_rule.cluster_role_selectors or []
        path = child("aggregationRule", "clusterRoleSelectors")
        if not selectors:
            errs.append(required(path, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
        for i, selector in enumerate(selectors):
            errs += validate_label_selector(selector, index(path, i))
    return errs


def validate_subject(subject: rbac_v1.Subject, namespaced: bool, path: str) -> list[FieldError]:
    """ValidateRoleBindingSubject."""
    errs: list[FieldError] = []
    if not subject.name:
        errs.append(required(child(path, "name")))
    group = subject.api_group or ""
    if subject.kind == "ServiceAccount":
        if subject.name:
            errs += [invalid(child(path, "name"), subject.name, m)
                     for m in names.name_is_dns_subdomain(subject.name)]
        if group:
            errs.append(not_supported(child(path, "apiGroup"), group, ("",)))
        if not namespaced and not subject.namespace:
            errs.append(required(child(path, "namespace")))
    elif subject.kind in ("User", "Group"):
        if group != GROUP:
            errs.append(not_supported(child(path, "apiGroup"), group, (GROUP,)))
    else:
        errs.append(not_supported(child(path, "kind"), subject.kind, SUBJECT_KINDS))
    return errs


def _binding(binding: Any, namespaced: bool, role_kinds: tuple[str, ...]) -> list[FieldError]:
    errs = validate_object_meta(binding.metadata, namespaced, names.name_is_path_segment)
    ref: rbac_v1.RoleRef = binding.role_ref
    if ref.api_group != GROUP:
        errs.append(not_supported(child("roleRef", "apiGroup"), ref.api_group, (GROUP,)))
    if ref.kind not in role_kinds:
        errs.append(not_supported(child("roleRef", "kind"), ref.kind, role_kinds))
    if not ref.name:
        errs.append(required(child("roleRef", "name")))
    else:
        errs += [invalid(child("roleRef", "name"), ref.name, m) for m in names.name_is_path_segment(ref.name)]
    for i, subject in enumerate(binding.subjects or []):
        errs += validate_subject(subject, namespaced, index("subjects", i))
    return errs


def validate_role_binding(binding: rbac_v1.RoleBinding) -> list[FieldError]:
    return _binding(binding, True, ("Role", "ClusterRole"))


def validate_cluster_role_binding(binding: rbac_v1.ClusterRoleBinding) -> list[FieldError]:
    return _binding(binding, False, ("ClusterRole",))


def _role_ref_fixed(new: Any, old: Any) -> list[FieldError]:
    if new.role_ref != old.role_ref:
        ref = new.role_ref
        return [invalid("roleRef", {"apiGroup": ref.api_group, "kind": ref.kind, "name": ref.name},
                        "cannot change roleRef")]
    return []


def validate_role_binding_update(new: rbac_v1.RoleBinding, old: rbac_v1.RoleBinding) -> list[FieldError]:
    return validate_role_binding(new) + _role_ref_fixed(new, old)


def validate_cluster_role_binding_update(new: rbac_v1.ClusterRoleBinding,
                                         old: rbac_v1.ClusterRoleBinding) -> list[FieldError]:
    return validate_cluster_role_binding(new) + _role_ref_fixed(new, old)
