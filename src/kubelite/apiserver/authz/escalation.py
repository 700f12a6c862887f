"""RBAC escalation prevention (pkg/registry/rbac/validation, ConfirmNoEscalation): a user
may create or update a Role or ClusterRole only with rules they already hold, unless
allowed the `escalate` verb on it, and may bind a role only if they hold its rules, unless
allowed `bind` on it. Members of system:masters are never checked. Run as an admission
step of writes, with the request's user from chain.REQUEST_USER.
"""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_kind
from kubelite.apiserver import objects
from kubelite.apiserver.authz import Attributes, UserInfo
from kubelite.apiserver.authz.chain import (
    FULL_AUTHORITY,
    SYSTEM_MASTERS,
    AuthorizerChain,
    request_user,
)
from kubelite.apiserver.authz.rules import Rule, compact, compact_string, compile_rules, uncovered
from kubelite.store.interface import Store

GROUP = "rbac.authorization.k8s.io"
AGGREGATION_NEEDS_ADMIN = "must have cluster-admin privileges to use the aggregationRule"


def _qualified(kind: Kind) -> str:
    return f"{kind.plural}.{kind.group}"


def not_held(user: UserInfo, missing: list[Rule]) -> str:
    """The words of ConfirmNoEscalation's refusal."""
    groups = " ".join(f'"{g}"' for g in user.groups)
    lines = sorted(compact_string(r) for r in compact(missing))
    return (f'user "{user.name}" (groups=[{groups}]) is attempting to grant RBAC permissions '
            "not currently held:\n" + "\n".join(lines))


class RbacEscalation:
    """The admission step: refuses writes of roles and bindings that would escalate."""

    def __init__(self, chain: AuthorizerChain, store: Store) -> None:
        self.chain = chain
        self.store = store

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if kind.group != GROUP:
            return
        user = request_user()
        if user is None or SYSTEM_MASTERS in user.groups:
            return
        name = obj.metadata.name or ""
        if kind.kind in ("Role", "ClusterRole"):
            if self.chain.allowed(Attributes(user, "escalate", True, namespace, GROUP, "v1", kind.plural, name=name)):
                return
            self._confirm(kind, name, user, namespace, compile_rules(msgspec.to_builtins(obj.rules or [])))
            if getattr(obj, "aggregation_rule", None) is not None \
                    and uncovered(self.chain.rules_for(user, namespace)[0], FULL_AUTHORITY):
                raise st.Forbidden(f'{_qualified(kind)} "{name}" is forbidden: {AGGREGATION_NEEDS_ADMIN}',
                                   name=name, group=GROUP, kind=kind.plural)
            return
        ref = obj.role_ref
        role_plural = "roles" if ref.kind == "Role" else "clusterroles"
        bind_namespace = namespace if kind.kind == "RoleBinding" else ""
        if self.chain.allowed(Attributes(user, "bind", True, bind_namespace, GROUP, "v1", role_plural, name=ref.name)):
            return
        self._confirm(kind, name, user, namespace, await self._role_rules(ref.kind, bind_namespace, ref.name))

    def _confirm(self, kind: Kind, name: str, user: UserInfo, namespace: str, wanted: tuple[Rule, ...]) -> None:
        missing = uncovered(self.chain.rules_for(user, namespace)[0], wanted)
        if missing:
            raise st.Forbidden(f'{_qualified(kind)} "{name}" is forbidden: {not_held(user, missing)}',
                               name=name, group=GROUP, kind=kind.plural)

    async def _role_rules(self, role_kind: str, namespace: str, name: str) -> tuple[Rule, ...]:
        """The referenced role's rules: from memory, else from the store (a role created a
        moment ago may not have reached the authorizer's copy yet); 404 if none."""
        rbac = self.chain.rbac
        known = rbac.cluster_roles.get(name) if role_kind == "ClusterRole" else rbac.roles.get((namespace, name))
        if known is not None:
            return known
        kind = by_kind(GROUP, "v1", role_kind)
        assert kind is not None
        kv = await self.store.get(objects.object_key(kind, namespace or None, name))
        if kv is None:
            raise st.not_found(kind.plural, name, GROUP)
        return compile_rules(objects.decode(kv.value).get("rules"))
