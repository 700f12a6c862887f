"""RBAC policy rules, compiled once and matched per request: rbac.go's RuleAllows and the
escalation check's Covers (pkg/registry/rbac/validation).

A rule names verbs, API groups, resources (`pods`, `pods/log`, `*`, `*/scale`), optional
resource names, or non-resource URLs (`/healthz`, `/apis/*`); `*` matches anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubelite.apiserver.authz import Attributes

ALL = "*"


@dataclass(frozen=True, slots=True)
class Rule:
    verbs: frozenset[str]
    groups: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    urls: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The rule as a PolicyRule (sorted lists, empty ones left out)."""
        out: dict[str, Any] = {"verbs": sorted(self.verbs)}
        for key, values in (("apiGroups", self.groups), ("resources", self.resources),
                            ("resourceNames", self.names), ("nonResourceURLs", self.urls)):
            if values:
                out[key] = sorted(values)
        return out


def compile_rule(rule: Mapping[str, Any]) -> Rule:
    return Rule(frozenset(rule.get("verbs") or ()), frozenset(rule.get("apiGroups") or ()),
                frozenset(rule.get("resources") or ()), frozenset(rule.get("resourceNames") or ()),
                tuple(rule.get("nonResourceURLs") or ()))


def compile_rules(rules: Iterable[Mapping[str, Any]] | None) -> tuple[Rule, ...]:
    return tuple(compile_rule(r) for r in rules or ())


def _url_matches(patterns: Iterable[str], path: str) -> bool:
    for pattern in patterns:
        if pattern == ALL or pattern == path:
            return True
        if pattern.endswith("*") and path.startswith(pattern[:-1]):
            return True
    return False


def _resource_matches(resources: frozenset[str], resource: str, subresource: str) -> bool:
    if ALL in resources:
        return True
    if not subresource:
        return resource in resources
    return f"{resource}/{subresource}" in resources or f"*/{subresource}" in resources


def allows(rule: Rule, a: Attributes) -> bool:
    """RuleAllows: does `rule` grant the request `a`?"""
    if not (a.verb in rule.verbs or ALL in rule.verbs):
        return False
    if not a.resource_request:
        return _url_matches(rule.urls, a.path)
    return ((a.api_group in rule.groups or ALL in rule.groups)
            and _resource_matches(rule.resources, a.resource, a.subresource)
            and (not rule.names or a.name in rule.names))


def _atoms(rule: Rule) -> list[Rule]:
    """`rule` broken into one verb on one group/resource (or URL) each, as BreakdownRule."""
    out = []
    for verb in sorted(rule.verbs):
        for url in rule.urls:
            out.append(Rule(frozenset({verb}), urls=(url,)))
        for group in sorted(rule.groups):
            for resource in sorted(rule.resources):
                if rule.names:
                    out += [Rule(frozenset({verb}), frozenset({group}), frozenset({resource}),
                                 frozenset({name})) for name in sorted(rule.names)]
                else:
                    out.append(Rule(frozenset({verb}), frozenset({group}), frozenset({resource})))
    return out


def _covers_one(owner: Rule, atom: Rule) -> bool:
    verb = next(iter(atom.verbs))
    if not (ALL in owner.verbs or verb in owner.verbs):
        return False
    if atom.urls:
        url = atom.urls[0]
        return any(p == ALL or p == url or (p.endswith("*") and url.startswith(p[:-1]))
                   for p in owner.urls)
    group, resource = next(iter(atom.groups)), next(iter(atom.resources))
    if not (ALL in owner.groups or group in owner.groups):
        return False
    if not (ALL in owner.resources or resource in owner.resources):
        sub = resource.partition("/")[2]
        if not (sub and f"*/{sub}" in owner.resources):
            return False
    if not owner.names:
        return True
    return bool(atom.names) and atom.names <= owner.names


def uncovered(owner: Iterable[Rule], wanted: Iterable[Rule]) -> list[Rule]:
    """Covers: the parts of `wanted` that no rule of `owner` grants (empty: all covered)."""
    owned = list(owner)
    return [atom for rule in wanted for atom in _atoms(rule)
            if not any(_covers_one(o, atom) for o in owned)]


def compact_string(rule: Rule) -> str:
    """rbacv1helpers.CompactString: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`."""
    def quoted(values: Iterable[str]) -> str:
        return "[" + " ".join(f'"{v}"' for v in values) + "]"
    parts = []
    for label, values in (("APIGroups", sorted(rule.groups)), ("Resources", sorted(rule.resources)),
                          ("NonResourceURLs", list(rule.urls)), ("ResourceNames", sorted(rule.names)),
                          ("Verbs", sorted(rule.verbs))):
        if values:
            parts.append(f"{label}:{quoted(values)}")
    return "{" + ", ".join(parts) + "}"


def compact(atoms: list[Rule]) -> list[Rule]:
    """CompactRules: atoms that differ only in verb become one rule."""
    merged: dict[tuple[frozenset[str], frozenset[str], frozenset[str], tuple[str, ...]], set[str]] = {}
    for atom in atoms:
        merged.setdefault((atom.groups, atom.resources, atom.names, atom.urls), set()).update(atom.verbs)
    return [Rule(frozenset(verbs), g, r, n, u) for (g, r, n, u), verbs in merged.items()]
