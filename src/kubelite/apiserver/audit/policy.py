"""Kubernetes' audit Policy (audit.k8s.io/v1): which requests are logged, at which level and
in which stages. The first rule that matches a request decides; a request no rule matches is
not logged (level None), as kube-apiserver's policy checker does.

```yaml
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/version"]
- level: RequestResponse
  resources: [{group: "", resources: ["secrets"]}]
  namespaces: [kube-system]
- level: Metadata
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubelite.apiserver.authz import Attributes

LEVELS = ("None", "Metadata", "Request", "RequestResponse")
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
API_VERSIONS = ("audit.k8s.io/v1", "audit.k8s.io/v1beta1")


@dataclass(frozen=True)
class GroupResources:
    group: str
    resources: tuple[str, ...]
    names: tuple[str, ...]

    def matches(self, a: Attributes) -> bool:
        if self.group != a.api_group:
            return False
        if self.resources:
            combined = a.resource + ("/" + a.subresource if a.subresource else "")
            if not any(_resource_matches(r, a.resource, a.subresource, combined) for r in self.resources):
                return False
        return not self.names or a.name in self.names


def _resource_matches(rule: str, resource: str, subresource: str, combined: str) -> bool:
    if rule in ("*", combined):
        return True
    if rule.startswith("*/"):  # "*/scale": that subresource of any resource
        return rule[2:] == subresource
    if rule.endswith("/*"):  # "pods/*": any subresource of pods (not pods itself)
        return bool(subresource) and rule[:-2] == resource
    return False


@dataclass(frozen=True)
class Rule:
    level: str
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    resources: tuple[GroupResources, ...] = ()
    namespaces: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool | None = None

    def matches(self, a: Attributes) -> bool:
        if self.users and a.user.name not in self.users:
            return False
        if self.groups and not set(self.groups) & set(a.user.groups):
            return False
        if self.verbs and a.verb not in self.verbs:
            return False
        if self.resources or self.namespaces:
            if not a.resource_request:
                return False
            if self.namespaces and a.namespace not in self.namespaces:
                return False
            if self.resources and not any(g.matches(a) for g in self.resources):
                return False
        if self.non_resource_urls:
            if a.resource_request:
                return False
            return any(a.path.startswith(u[:-1]) if u.endswith("*") else a.path == u
                       for u in self.non_resource_urls)
        return True


@dataclass(frozen=True)
class Decision:
    level: str
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool = False


@dataclass
class Policy:
    rules: list[Rule]
    omit_stages: frozenset[str] = frozenset()
    omit_managed_fields: bool = False
    _none: Decision = field(default_factory=lambda: Decision("None"))

    def decide(self, a: Attributes) -> Decision:
        for rule in self.rules:
            if rule.matches(a):
                managed = self.omit_managed_fields if rule.omit_managed_fields is None else rule.omit_managed_fields
                return Decision(rule.level, self.omit_stages | rule.omit_stages, managed)
        return self._none


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValueError(f"{where}: must be a list")
    return tuple(str(v) for v in value)


def _stages(value: Any, where: str) -> frozenset[str]:
    stages = frozenset(_strings(value, where))
    bad = stages - set(STAGES)
    if bad:
        raise ValueError(f"{where}: Unsupported value: {sorted(bad)[0]!r}: supported values: {', '.join(STAGES)}")
    return stages


def parse(doc: dict[str, Any]) -> Policy:
    """A Policy document; ValueError names what is wrong."""
    if doc.get("kind") != "Policy" or doc.get("apiVersion") not in API_VERSIONS:
        raise ValueError(f"not an audit Policy: kind {doc.get('kind')!r}, apiVersion {doc.get('apiVersion')!r}")
    rules = []
    for i, raw in enumerate(doc.get("rules") or []):
        where = f"rules[{i}]"
        level = str(raw.get("level") or "")
        if level not in LEVELS:
            raise ValueError(f"{where}.level: Unsupported value: {level!r}: supported values: {', '.join(LEVELS)}")
        resources = tuple(GroupResources(str(g.get("group") or ""), _strings(g.get("resources"), f"{where}.resources"),
                                         _strings(g.get("resourceNames"), f"{where}.resourceNames"))
                          for g in raw.get("resources") or [])
        urls = _strings(raw.get("nonResourceURLs"), f"{where}.nonResourceURLs")
        if urls and (resources or raw.get("namespaces")):
            raise ValueError(f"{where}.nonResourceURLs: Invalid value: rules cannot apply to both regular "
                             "resources and non-resource URLs")
        rules.append(Rule(level, _strings(raw.get("users"), where), _strings(raw.get("userGroups"), where),
                          _strings(raw.get("verbs"), where), resources,
                          _strings(raw.get("namespaces"), where), urls,
                          _stages(raw.get("omitStages"), f"{where}.omitStages"), raw.get("omitManagedFields")))
    return Policy(rules, _stages(doc.get("omitStages"), "omitStages"), bool(doc.get("omitManagedFields")))


def load(path: Path) -> Policy:
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not an audit Policy")
    try:
        return parse(doc)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
