"""The authorization and impersonation filters in front of every request, as
k8s.io/apiserver's endpoints/filters authorization.go and impersonation.go.

Impersonation (`kubectl --as USER --as-group GROUP`) first: each requested identity part
needs the `impersonate` verb on users, groups, serviceaccounts, uids or userextras; then
the request, as the (possibly impersonated) user, goes to the authorizer chain. Refusals
are 403 Forbidden Status objects in Kubernetes' words.
"""

from __future__ import annotations

from collections.abc import Mapping

from multidict import CIMultiDictProxy

from kubelite.api import status as st
from kubelite.apiserver.authz import Attributes, Decision, UserInfo
from kubelite.apiserver.authz.chain import AuthorizerChain
from kubelite.apiserver.authz.request_info import request_info

IMPERSONATE_USER = "Impersonate-User"
IMPERSONATE_GROUP = "Impersonate-Group"
IMPERSONATE_UID = "Impersonate-Uid"
IMPERSONATE_EXTRA = "impersonate-extra-"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


def forbidden_message(a: Attributes) -> str:
    """responsewriters.forbiddenMessage."""
    if not a.resource_request:
        return f'User "{a.user.name}" cannot {a.verb} path "{a.path}"'
    resource = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    where = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    return f'User "{a.user.name}" cannot {a.verb} resource "{resource}" in API group "{a.api_group}" {where}'


def forbidden(a: Attributes, reason: str = "") -> st.Forbidden:
    """responsewriters.Forbidden: apierrors.NewForbidden of the resource and name."""
    err = forbidden_message(a) + (f": {reason}" if reason else "")
    if not a.resource_request or not a.resource:
        return st.Forbidden(f"forbidden: {err}")
    qualified = f"{a.resource}.{a.api_group}" if a.api_group else a.resource
    named = f' "{a.name}"' if a.name else ""
    return st.Forbidden(f"{qualified}{named} is forbidden: {err}", name=a.name, group=a.api_group,
                        kind=a.resource)


def _impersonation_checks(headers: CIMultiDictProxy[str]) -> tuple[UserInfo, list[Attributes]] | None:
    """The identity asked for and what must be allowed for it (requester left blank)."""
    name = headers.get(IMPERSONATE_USER)
    groups = headers.getall(IMPERSONATE_GROUP, [])
    uid = headers.get(IMPERSONATE_UID, "")
    extras = [(k[len(IMPERSONATE_EXTRA):].lower(), v) for k, v in headers.items()
              if k.lower().startswith(IMPERSONATE_EXTRA)]
    if name is None:
        if groups or uid or extras:
            asked = " ".join([*(f"{{Group  {g}    }}" for g in groups), *(f"{{UserExtra  {v}  {k}  }}" for k, v in extras)])
            raise st.BadRequest(f"requested [{asked}] without impersonating a user")
        return None
    blank = UserInfo("")
    checks: list[Attributes] = []
    user_groups = list(groups)
    if name.startswith(SERVICE_ACCOUNT_PREFIX) and name.count(":") == 3:
        namespace, sa = name[len(SERVICE_ACCOUNT_PREFIX):].split(":", 1)
        checks.append(Attributes(blank, "impersonate", True, namespace=namespace,
                                 resource="serviceaccounts", name=sa))
        if not groups:
            user_groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    else:
        checks.append(Attributes(blank, "impersonate", True, resource="users", name=name))
    checks += [Attributes(blank, "impersonate", True, resource="groups", name=g) for g in groups]
    checks += [Attributes(blank, "impersonate", True, api_group="authentication.k8s.io",
                          resource="userextras", subresource=k, name=v) for k, v in extras]
    if uid:
        checks.append(Attributes(blank, "impersonate", True, api_group="authentication.k8s.io",
                                 resource="uids", name=uid))
    if name == ANONYMOUS:
        if UNAUTHENTICATED not in user_groups:
            user_groups.append(UNAUTHENTICATED)
    elif AUTHENTICATED not in user_groups:
        user_groups.append(AUTHENTICATED)
    return UserInfo(name, tuple(user_groups), uid, tuple(extras)), checks


def impersonate(headers: CIMultiDictProxy[str], requester: UserInfo, chain: AuthorizerChain) -> UserInfo:
    """The user the request acts as: `requester`, or whom its Impersonate-* headers name
    if `requester` may impersonate every part of it (403 otherwise)."""
    asked = _impersonation_checks(headers)
    if asked is None:
        return requester
    user, checks = asked
    for check in checks:
        attributes = Attributes(requester, check.verb, True, namespace=check.namespace,
                                api_group=check.api_group, resource=check.resource,
                                subresource=check.subresource, name=check.name)
        verdict = chain.authorize(attributes)
        if verdict.decision is not Decision.ALLOW:
            raise forbidden(attributes, verdict.reason if verdict.decision is Decision.DENY else "")
    return user


def authorize(method: str, path: str, query: Mapping[str, str], user: UserInfo,
              chain: AuthorizerChain) -> None:
    """WithAuthorization: 403 unless the chain allows the request."""
    attributes = request_info(method, path, query).attributes(user)
    verdict = chain.authorize(attributes)
    if verdict.decision is not Decision.ALLOW:
        raise forbidden(attributes, verdict.reason)
