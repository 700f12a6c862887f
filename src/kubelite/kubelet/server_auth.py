"""The kubelet's API asks the API server who a caller is and what it may do, as the
kubelet's webhook authentication and authorization modes (`--authentication-token-webhook`,
`--authorization-mode=Webhook`; kubelet server/auth.go).

A verified client certificate names the user (CN) and groups (O); a bearer token is sent
to the API server as a TokenReview. The request then becomes a SubjectAccessReview on the
node: `nodes/proxy` by default (exec, attach, portforward, run, containerLogs, pods), or
`nodes/stats`, `nodes/metrics`, `nodes/log`, `nodes/spec` for those paths, with the verb of
the HTTP method. Answers are cached as the kubelet caches them (allowed 5 min, denied 30 s;
tokens 2 min). Until the API server serves SubjectAccessReview, only `system:masters` (the
API server's own kubelet client certificate) is allowed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kubelite.client import ApiClient
from kubelite.client.errors import ApiError, NotFound

SUBRESOURCES = (("/stats/", "stats"), ("/metrics", "metrics"), ("/logs/", "log"), ("/spec/", "spec"),
                ("/checkpoint/", "checkpoint"))
VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
ALLOWED_TTL, DENIED_TTL, TOKEN_TTL = 300.0, 30.0, 120.0
ADMIN_GROUP = "system:masters"
CACHE_SIZE = 4096  # entries; a full cache starts over


@dataclass(frozen=True)
class Caller:
    name: str
    groups: tuple[str, ...]
    uid: str = ""
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Access:
    """What a request asks of the node, as kubelet's GetRequestAttributes sees it."""

    verb: str
    subresource: str


def access(method: str, path: str) -> Access:
    subresource = "proxy"
    for prefix, name in SUBRESOURCES:
        if path == prefix.rstrip("/") or path.startswith(prefix):
            subresource = name
            break
    return Access(VERBS.get(method, method.lower()), subresource)


def forbidden_message(caller: Caller, wanted: Access) -> str:
    return (f"Forbidden (user={caller.name}, verb={wanted.verb}, resource=nodes, "
            f"subresource={wanted.subresource})")


def certificate_caller(peercert: dict[str, Any] | None) -> Caller | None:
    """The user a verified client certificate names: CN, and O as groups."""
    name, groups = "", []
    for rdn in (peercert or {}).get("subject", ()):
        for attr, value in rdn:
            if attr == "commonName":
                name = str(value)
            elif attr == "organizationName":
                groups.append(str(value))
    return Caller(name, (*groups, "system:authenticated")) if name else None


class WebhookAuth:
    """TokenReview and SubjectAccessReview through the kubelet's own API client."""

    def __init__(self, client: ApiClient, node_name: str) -> None:
        self.client = client
        self.node_name = node_name
        self._tokens: dict[str, tuple[float, Caller | None]] = {}
        self._decisions: dict[tuple[Caller, Access], tuple[float, bool]] = {}
        self._sar_missing_until = 0.0  # while SubjectAccessReview answered 404, ask again after this

    async def authenticate_token(self, token: str) -> Caller | None:
        now = time.monotonic()
        cached = self._tokens.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
        answer = await self.client.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", body=review)
        status = (answer or {}).get("status") or {}
        user = status.get("user") or {}
        caller = None
        if status.get("authenticated") and user.get("username"):
            extra = tuple(sorted((k, tuple(v)) for k, v in (user.get("extra") or {}).items()))
            caller = Caller(user["username"], tuple(user.get("groups") or ()), user.get("uid", ""), extra)
        if len(self._tokens) >= CACHE_SIZE:
            self._tokens.clear()
        self._tokens[token] = (now + TOKEN_TTL, caller)
        return caller

    async def authorize(self, caller: Caller, wanted: Access) -> bool:
        now = time.monotonic()
        cached = self._decisions.get((caller, wanted))
        if cached is not None and cached[0] > now:
            return cached[1]
        allowed = await self._review(caller, wanted)
        if len(self._decisions) >= CACHE_SIZE:
            self._decisions.clear()
        self._decisions[(caller, wanted)] = (now + (ALLOWED_TTL if allowed else DENIED_TTL), allowed)
        return allowed

    async def _review(self, caller: Caller, wanted: Access) -> bool:
        if time.monotonic() < self._sar_missing_until:
            return ADMIN_GROUP in caller.groups
        spec: dict[str, Any] = {
            "user": caller.name, "groups": list(caller.groups),
            "resourceAttributes": {"verb": wanted.verb, "group": "", "version": "v1", "resource": "nodes",
                                   "subresource": wanted.subresource, "name": self.node_name},
        }
        if caller.uid:
            spec["uid"] = caller.uid
        if caller.extra:
            spec["extra"] = {k: list(v) for k, v in caller.extra}
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        try:
            answer = await self.client.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                               body=review)
        except NotFound:  # an API server without authorization (before RBAC): its own admins only
            self._sar_missing_until = time.monotonic() + DENIED_TTL
            return ADMIN_GROUP in caller.groups
        except ApiError:
            return False
        return bool(((answer or {}).get("status") or {}).get("allowed"))
