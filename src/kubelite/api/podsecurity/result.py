"""What a check answers, and the small text helpers every check's message uses
(k8s.io/pod-security-admission/policy: CheckResult, joinQuote, pluralize, visitContainers)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Forbidden:
    """A check's refusal: `reason (detail)` in the PodSecurity message."""

    reason: str
    detail: str = ""


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Init, regular, then ephemeral containers: the order Kubernetes names them in."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(field) or ()


def security_context(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("securityContext") or {}


def pod_security_context(spec: dict[str, Any]) -> dict[str, Any]:
    return spec.get("securityContext") or {}


def quote(text: str) -> str:
    """Go's %q for the values met here."""
    return json.dumps(text, ensure_ascii=False)


def join_quote(items: Iterable[str]) -> str:
    return ", ".join(quote(i) for i in items)


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def containers_phrase(names: list[str]) -> str:
    """`container "a"` or `containers "a", "b"`."""
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


def is_windows(spec: dict[str, Any]) -> bool:
    return ((spec.get("os") or {}).get("name")) == "windows"
