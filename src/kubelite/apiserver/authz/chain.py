"""The authorizer chain of this API server, as `--authorization-mode=Node,RBAC` with the
privileged group in front (kube-apiserver's authorizerfactory.NewPrivilegedGroups):
members of system:masters may do anything, whatever the bindings say."""

from __future__ import annotations

from collections.abc import Sequence

from kubelite.apiserver import request_context
from kubelite.apiserver.authz import Attributes, Authorizer, Decision, UserInfo, Verdict, union
from kubelite.apiserver.authz.rbac import RbacAuthorizer
from kubelite.apiserver.authz.rules import Rule

SYSTEM_MASTERS = "system:masters"
FULL_AUTHORITY = (Rule(frozenset({"*"}), frozenset({"*"}), frozenset({"*"})),
                  Rule(frozenset({"*"}), urls=("*",)))


def request_user() -> UserInfo | None:
    """The user the request being served acts as (after impersonation), for checks made
    deeper in it, such as the escalation check on writes of roles and bindings; None when
    the server itself writes (bootstrap policy, system namespaces) or runs without
    authentication."""
    ctx = request_context.current()
    if ctx is None or ctx.user is None:
        return None
    user = ctx.user
    return UserInfo(user.name, user.groups, user.uid, user.extra)


class PrivilegedGroups:
    """Allows everything to members of the privileged groups."""

    def __init__(self, groups: Sequence[str] = (SYSTEM_MASTERS,)) -> None:
        self.groups = frozenset(groups)

    def authorize(self, attributes: Attributes) -> Verdict:
        if self.groups.intersection(attributes.user.groups):
            return Verdict(Decision.ALLOW)
        return Verdict(Decision.NO_OPINION)


class AuthorizerChain:
    """system:masters, then Node (the server's, fed by its graph), then RBAC; the first to
    decide wins."""

    def __init__(self, rbac: RbacAuthorizer | None = None, node: Authorizer | None = None) -> None:
        self.rbac = rbac or RbacAuthorizer()
        self.node = node
        self.privileged = PrivilegedGroups()
        self.authorizers: list[Authorizer] = [self.privileged, *([self.node] if self.node else []), self.rbac]

    def authorize(self, attributes: Attributes) -> Verdict:
        return union(self.authorizers, attributes)

    def allowed(self, attributes: Attributes) -> bool:
        return self.authorize(attributes).decision is Decision.ALLOW

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], bool]:
        """The rules `user` holds in `namespace` and whether that list is incomplete (an
        authorizer that cannot list its rules, such as the Node authorizer, had its say)."""
        if self.privileged.groups.intersection(user.groups):
            return list(FULL_AUTHORITY), False
        incomplete = self.node is not None and any(g == "system:nodes" for g in user.groups)
        return self.rbac.rules_for(user, namespace), incomplete
