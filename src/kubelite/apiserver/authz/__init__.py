"""Authorization: what each authorizer is asked and what it answers, as k8s.io/apiserver's
authorizer package (Attributes, Decision) and its union authorizer.

kube-apiserver asks its authorizers in order (`--authorization-mode=Node,RBAC`); the first
that allows or denies decides, and "no opinion" passes to the next. A request no authorizer
allows is refused with 403. Authorizers live beside this module, one per module (`node.py`,
`rbac.py`); `chain.py`-style wiring is done where the API server is built.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Decision(enum.Enum):
    DENY = 0
    ALLOW = 1
    NO_OPINION = 2


@dataclass(frozen=True)
class UserInfo:
    """Who asks (authentication's answer, as k8s.io/apiserver user.Info)."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Attributes:
    """One request as authorizers see it (k8s.io/apiserver authorizer.AttributesRecord).

    Resource requests carry verb (get, list, watch, create, update, patch, delete,
    deletecollection, or a special verb such as impersonate, bind, escalate, approve),
    api_group, api_version, resource, subresource, namespace and name; non-resource requests
    (`/healthz`, `/version`, `/apis`...) carry the path and a verb from the HTTP method.
    """

    user: UserInfo
    verb: str
    resource_request: bool
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""
    field_selector: tuple[tuple[str, str, str], ...] = field(default=())
    label_selector: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=())


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str = ""


class Authorizer(Protocol):
    def authorize(self, attributes: Attributes) -> Verdict:
        """Decide at once, from memory: never a store read per request."""
        ...


def union(authorizers: Sequence[Authorizer], attributes: Attributes) -> Verdict:
    """The first allow or deny of `authorizers` in order; NO_OPINION if none decides.

    Reasons of the authorizers that had no opinion are joined, as kube-apiserver's union
    authorizer does, so the 403 message can say why.
    """
    reasons: list[str] = []
    for authorizer in authorizers:
        verdict = authorizer.authorize(attributes)
        if verdict.decision is not Decision.NO_OPINION:
            return verdict
        if verdict.reason:
            reasons.append(verdict.reason)
    return Verdict(Decision.NO_OPINION, "; ".join(reasons))
