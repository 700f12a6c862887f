"""Scheduling constraints of a pod: tolerations, affinity, topology spread constraints."""

from __future__ import annotations

from kubelite.api.types import core_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
)
from kubelite.api.validation.meta import validate_label_name, validate_label_selector

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Equal", "Exists")
NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
NODE_INCLUSION_POLICIES = ("Honor", "Ignore")
NOT_POSITIVE = "must be greater than zero"


def validate_taint_effect(effect: str, path: str) -> list[FieldError]:
    if effect not in TAINT_EFFECTS:
        return [not_supported(path, effect, TAINT_EFFECTS)]
    return []


def validate_tolerations(tolerations: list[core_v1.Toleration] | None,
                         path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, t in enumerate(tolerations or []):
        p = index(path, i)
        key, op, value, effect = t.key or "", t.operator or "", t.value or "", t.effect or ""
        if key:
            errs += validate_label_name(key, child(p, "key"))
        if not key and op != "Exists":
            errs.append(invalid(child(p, "operator"), op, "operator must be Exists when `key` is "
                                "empty, which means \"match all values and all keys\""))
        if t.toleration_seconds is not None and effect != "NoExecute":
            errs.append(invalid(child(p, "effect"), effect,
                                "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            msgs = names.is_valid_label_value(value)
            if msgs:
                errs.append(invalid(child(p, "operator"), value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                errs.append(invalid(child(p, "operator"), value,
                                    "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(child(p, "operator"), op, TOLERATION_OPERATORS))
        if effect:
            errs += validate_taint_effect(effect, child(p, "effect"))
    return errs


def _node_selector_requirement(req: core_v1.NodeSelectorRequirement,
                               path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    values = req.values or []
    if req.operator in ("In", "NotIn"):
        if not values:
            errs.append(required(child(path, "values"),
                                 "must be specified when `operator` is 'In' or 'NotIn'"))
    elif req.operator in ("Exists", "DoesNotExist"):
        if values:
            errs.append(forbidden(child(path, "values"), "may not be specified when `operator` "
                                                         "is 'Exists' or 'DoesNotExist'"))
    elif req.operator in ("Gt", "Lt"):
        if len(values) != 1:
            errs.append(required(child(path, "values"), "must be specified single value when "
                                                        "`operator` is 'Lt' or 'Gt'"))
    else:
        errs.append(invalid(child(path, "operator"), req.operator, "not a valid selector operator"))
    errs += validate_label_name(req.key, child(path, "key"))
    return errs


def _node_field_requirement(req: core_v1.NodeSelectorRequirement, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if req.key != "metadata.name":
        errs.append(not_supported(child(path, "key"), req.key, ["metadata.name"]))
    if req.operator not in ("In", "NotIn"):
        errs.append(invalid(child(path, "operator"), req.operator, "not a valid selector operator"))
    elif len(req.values or []) != 1:
        errs.append(required(child(path, "values"), "must be only one value when `operator` is "
                                                    "'In' or 'NotIn' for node field selector"))
    return errs


def validate_node_selector_term(term: core_v1.NodeSelectorTerm, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for j, req in enumerate(term.match_expressions or []):
        errs += _node_selector_requirement(req, index(child(path, "matchExpressions"), j))
    for j, req in enumerate(term.match_fields or []):
        errs += _node_field_requirement(req, index(child(path, "matchFields"), j))
    return errs


def validate_node_selector(selector: core_v1.NodeSelector, path: str) -> list[FieldError]:
    terms_path = child(path, "nodeSelectorTerms")
    if not selector.node_selector_terms:
        return [required(terms_path, "must have at least one node selector term")]
    errs: list[FieldError] = []
    for i, term in enumerate(selector.node_selector_terms):
        errs += validate_node_selector_term(term, index(terms_path, i))
    return errs


def _weight(weight: int, path: str) -> list[FieldError]:
    if not 1 <= weight <= 100:
        return [invalid(path, weight, "must be in the range 1-100")]
    return []


def _pod_affinity_term(term: core_v1.PodAffinityTerm, path: str) -> list[FieldError]:
    errs = validate_label_selector(term.label_selector, child(path, "labelSelector"))
    errs += validate_label_selector(term.namespace_selector, child(path, "namespaceSelector"))
    for ns in term.namespaces or []:
        errs += [invalid(child(path, "namespace"), ns, m) for m in names.is_dns1123_label(ns)]
    if not term.topology_key:
        errs.append(required(child(path, "topologyKey"), "can not be empty"))
    else:
        errs += validate_label_name(term.topology_key, child(path, "topologyKey"))
    return errs


def _pod_affinity(aff: core_v1.PodAffinity | core_v1.PodAntiAffinity,
                  path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    req_path = child(path, "requiredDuringSchedulingIgnoredDuringExecution")
    for i, term in enumerate(aff.required_during_scheduling_ignored_during_execution or []):
        errs += _pod_affinity_term(term, index(req_path, i))
    pref_path = child(path, "preferredDuringSchedulingIgnoredDuringExecution")
    for i, wterm in enumerate(aff.preferred_during_scheduling_ignored_during_execution or []):
        p = index(pref_path, i)
        errs += _weight(wterm.weight, child(p, "weight"))
        errs += _pod_affinity_term(wterm.pod_affinity_term, child(p, "podAffinityTerm"))
    return errs


def validate_affinity(affinity: core_v1.Affinity | None, path: str) -> list[FieldError]:
    if affinity is None:
        return []
    errs: list[FieldError] = []
    na = affinity.node_affinity
    if na is not None:
        na_path = child(path, "nodeAffinity")
        if na.required_during_scheduling_ignored_during_execution is not None:
            errs += validate_node_selector(
                na.required_during_scheduling_ignored_during_execution,
                child(na_path, "requiredDuringSchedulingIgnoredDuringExecution"))
        pref_path = child(na_path, "preferredDuringSchedulingIgnoredDuringExecution")
        for i, pterm in enumerate(na.preferred_during_scheduling_ignored_during_execution or []):
            p = index(pref_path, i)
            errs += _weight(pterm.weight, child(p, "weight"))
            errs += validate_node_selector_term(pterm.preference, child(p, "preference"))
    if affinity.pod_affinity is not None:
        errs += _pod_affinity(affinity.pod_affinity, child(path, "podAffinity"))
    if affinity.pod_anti_affinity is not None:
        errs += _pod_affinity(affinity.pod_anti_affinity, child(path, "podAntiAffinity"))
    return errs


def validate_topology_spread(constraints: list[core_v1.TopologySpreadConstraint] | None,
                             path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    items = constraints or []
    for i, c in enumerate(items):
        p = index(path, i)
        if c.max_skew <= 0:
            errs.append(invalid(child(p, "maxSkew"), c.max_skew, NOT_POSITIVE))
        if not c.topology_key:
            errs.append(required(child(p, "topologyKey"), "can not be empty"))
        if c.when_unsatisfiable not in WHEN_UNSATISFIABLE:
            errs.append(not_supported(child(p, "whenUnsatisfiable"), c.when_unsatisfiable,
                                      WHEN_UNSATISFIABLE))
        for later in items[i + 1:]:
            if (later.topology_key, later.when_unsatisfiable) == \
                    (c.topology_key, c.when_unsatisfiable):
                errs.append(duplicate(child(p, "{topologyKey, whenUnsatisfiable}"),
                                      f"{{{c.topology_key}, {c.when_unsatisfiable}}}"))
                break
        if c.min_domains is not None:
            md_path = child(p, "minDomains")
            if c.min_domains <= 0:
                errs.append(invalid(md_path, c.min_domains, NOT_POSITIVE))
            if c.when_unsatisfiable != "DoNotSchedule":
                errs.append(invalid(md_path, c.min_domains,
                                    "can only use minDomains if whenUnsatisfiable=DoNotSchedule, "
                                    f"not {c.when_unsatisfiable}"))
        for value, name in ((c.node_affinity_policy, "nodeAffinityPolicy"),
                            (c.node_taints_policy, "nodeTaintsPolicy")):
            if value is not None and value not in NODE_INCLUSION_POLICIES:
                errs.append(not_supported(child(p, name), value, NODE_INCLUSION_POLICIES))
        errs += validate_label_selector(c.label_selector, child(p, "labelSelector"))
    return errs
