"""The authorization reviews (pkg/registry/authorization): SubjectAccessReview (may this
user do this?), SelfSubjectAccessReview and LocalSubjectAccessReview (the same for the
caller, or within one namespace) and SelfSubjectRulesReview (what may I do here?), which
`kubectl auth can-i` (with `--as` and `--list`) asks. Answered from the authorizer
chain, never stored: the answer is the request with `status` filled in (201 Created).
"""

from __future__ import annotations

from typing import Any

from kubelite.api import status as st
from kubelite.api.registry import Kind
from kubelite.api.validation.errors import (
    FieldError,
    child,
    invalid,
    invalid_message,
    status_causes,
)
from kubelite.apiserver.authz import Attributes, Decision, UserInfo
from kubelite.apiserver.authz.chain import AuthorizerChain, request_user

ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))


def attributes(spec: dict[str, Any], user: UserInfo) -> Attributes:
    """The authorizer's question a review's spec asks (ResourceAttributesFrom and friends)."""
    resource = spec.get("resourceAttributes")
    if resource is not None:
        return Attributes(user, resource.get("verb", ""), True, namespace=resource.get("namespace", ""),
                          api_group=resource.get("group", ""), api_version=resource.get("version", ""),
                          resource=resource.get("resource", ""), subresource=resource.get("subresource", ""),
                          name=resource.get("name", ""))
    other = spec.get("nonResourceAttributes") or {}
    return Attributes(user, other.get("verb", ""), False, path=other.get("path", ""))


def _one_of(spec: dict[str, Any]) -> list[FieldError]:
    errs = []
    has_resource, has_other = spec.get("resourceAttributes") is not None, spec.get("nonResourceAttributes") is not None
    if has_resource and has_other:
        errs.append(invalid(child("spec", "nonResourceAttributes"), spec["nonResourceAttributes"],
                            "cannot be specified in combination with resourceAttributes"))
    if not has_resource and not has_other:
        errs.append(invalid(child("spec", "resourceAttributes"), None,
                            "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
    return errs


def _subject(spec: dict[str, Any]) -> UserInfo:
    extra = tuple((k, str(v)) for k, values in (spec.get("extra") or {}).items() for v in values or ())
    return UserInfo(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("uid", ""), extra)


def _check(kind: Kind, body: dict[str, Any], errs: list[FieldError]) -> None:
    if errs:
        name = (body.get("metadata") or {}).get("name", "")
        raise st.Invalid(invalid_message(kind.kind, name, errs, kind.group), name=name,
                         group=kind.group, kind=kind.kind, causes=status_causes(errs))


def _answer(body: dict[str, Any], chain: AuthorizerChain, question: Attributes) -> dict[str, Any]:
    verdict = chain.authorize(question)
    status: dict[str, Any] = {"allowed": verdict.decision is Decision.ALLOW}
    if verdict.decision is Decision.DENY:
        status["denied"] = True
    if verdict.reason:
        status["reason"] = verdict.reason
    return {**body, "metadata": {**(body.get("metadata") or {}), "creationTimestamp": None}, "status": status}


def subject_access_review(body: dict[str, Any], chain: AuthorizerChain, kind: Kind,
                          requester: UserInfo, namespace: str = "") -> dict[str, Any]:
    """The answer to a review of `kind` (SubjectAccessReview, Local- or Self-) in `body`."""
    spec = body.setdefault("spec", {})
    errs = _one_of(spec)
    if kind.kind == "SelfSubjectAccessReview":
        _check(kind, body, errs)
        return _answer(body, chain, attributes(spec, requester))
    if not spec.get("user") and not spec.get("groups"):
        errs.append(invalid(child("spec", "user"), spec.get("user", ""),
                            "at least one of user or group must be specified"))
    if kind.kind == "LocalSubjectAccessReview" and spec.get("nonResourceAttributes") is not None:
        errs.append(invalid(child("spec", "nonResourceAttributes"), spec["nonResourceAttributes"],
                            "disallowed on this kind of request"))
    _check(kind, body, errs)
    if kind.kind == "LocalSubjectAccessReview":
        asked = (spec.get("resourceAttributes") or {}).get("namespace", "")
        if asked != namespace:
            raise st.BadRequest(f"spec.resourceAttributes.namespace must match namespace: {namespace}")
    return _answer(body, chain, attributes(spec, _subject(spec)))


def rules_review(body: dict[str, Any], chain: AuthorizerChain, requester: UserInfo) -> dict[str, Any]:
    """SelfSubjectRulesReview: the caller's rules in spec.namespace."""
    spec = body.setdefault("spec", {})
    rules, incomplete = chain.rules_for(requester, spec.get("namespace", ""))
    resource_rules, non_resource_rules = [], []
    for rule in rules:
        doc = rule.as_dict()
        if rule.urls:
            non_resource_rules.append({"verbs": doc["verbs"], "nonResourceURLs": list(rule.urls)})
        else:
            resource_rules.append(doc)
    status = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
              "incomplete": incomplete}
    return {**body, "metadata": {**(body.get("metadata") or {}), "creationTimestamp": None}, "status": status}


def answer(kind: Kind, body: dict[str, Any], chain: AuthorizerChain | None, namespace: str = "") -> dict[str, Any]:
    """The answer to a POST of review `kind`, for the request's user (after impersonation).
    Without a chain (a server without authentication) every access review answers allowed."""
    if chain is None:
        return {**body, "metadata": {**(body.get("metadata") or {}), "creationTimestamp": None},
                "status": {"allowed": True}}
    requester = request_user() or ANONYMOUS
    if kind.kind == "SelfSubjectRulesReview":
        return rules_review(body, chain, requester)
    return subject_access_review(body, chain, kind, requester, namespace)
