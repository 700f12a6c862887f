"""The RBAC authorizer (plugin/pkg/auth/authorizer/rbac): a request is allowed when a
ClusterRoleBinding, or a RoleBinding in the request's namespace, binds the user (by name,
by group, or as a ServiceAccount) to a role with a rule that grants it.

Roles and bindings are copies in memory, fed by the watch cache; bindings are indexed by
subject and namespace, so a request costs a few dict lookups and never a store read.
RBAC only allows: what it does not allow gets "no opinion", and the chain answers 403.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from kubelite.api.registry import by_resource
from kubelite.apiserver.admission import _CacheCopy
from kubelite.apiserver.authz import Attributes, Decision, UserInfo, Verdict
from kubelite.apiserver.authz.rules import Rule, allows, compile_rules
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.interface import Store

log = logging.getLogger(__name__)
GROUP = "rbac.authorization.k8s.io"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
GRANTED_CACHE_SIZE = 10000  # (user, namespace) pairs remembered between changes of RBAC objects


@dataclass(frozen=True, slots=True)
class BindingRef:
    """One binding as the index keeps it: where it is, which role it grants, and to whom
    (for the reason an allow gives)."""

    kind: str  # "ClusterRoleBinding" or "RoleBinding"
    namespace: str  # "" for a ClusterRoleBinding
    name: str
    role_kind: str
    role_name: str
    subject: str  # `User "alice"`, `Group "dev"`, `ServiceAccount "ns/name"`


def _subject_key(subject: dict[str, Any], binding_namespace: str) -> tuple[tuple[str, str], str] | None:
    """(index key, words for reasons) of a subject; ServiceAccounts are their user names."""
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "User":
        return ("User", name), f'User "{name}"'
    if kind == "Group":
        return ("Group", name), f'Group "{name}"'
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return ("User", f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"), f'ServiceAccount "{namespace}/{name}"'
    return None


class RbacAuthorizer:
    """The authorizer and its index; `start` fills it from the store and follows the watch."""

    def __init__(self) -> None:
        self.cluster_roles: dict[str, tuple[Rule, ...]] = {}
        self.roles: dict[tuple[str, str], tuple[Rule, ...]] = {}
        # subject key -> namespace ("" for cluster bindings) -> bindings
        self._by_subject: dict[tuple[str, str], dict[str, list[BindingRef]]] = {}
        self._refs: dict[tuple[str, str, str], list[tuple[tuple[str, str], BindingRef]]] = {}
        self._copies: list[_Follower] = []
        self.generation = 0  # bumped on every change, for callers that memoize answers
        # (user, groups, namespace) -> the rules that apply, with the binding granting each;
        # emptied on any change of a role or binding
        self._granted: dict[tuple[str, tuple[str, ...], str], list[tuple[Rule, BindingRef]]] = {}
        self._granted_generation = 0

    # ----- the index

    def put_role(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        rules = compile_rules(obj.get("rules"))
        if kind == "ClusterRole":
            self.cluster_roles[meta["name"]] = rules
        else:
            self.roles[(meta.get("namespace", ""), meta["name"])] = rules
        self.generation += 1

    def drop_role(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if kind == "ClusterRole":
            self.cluster_roles.pop(meta["name"], None)
        else:
            self.roles.pop((meta.get("namespace", ""), meta["name"]), None)
        self.generation += 1

    def put_binding(self, kind: str, obj: dict[str, Any]) -> None:
        self.drop_binding(kind, obj)
        meta = obj["metadata"]
        namespace = meta.get("namespace", "") if kind == "RoleBinding" else ""
        ref = obj.get("roleRef") or {}
        entries = []
        for subject in obj.get("subjects") or []:
            found = _subject_key(subject, namespace)
            if found is None:
                continue
            key, words = found
            binding = BindingRef(kind, namespace, meta["name"], ref.get("kind", ""), ref.get("name", ""), words)
            self._by_subject.setdefault(key, {}).setdefault(namespace, []).append(binding)
            entries.append((key, binding))
        self._refs[(kind, namespace, meta["name"])] = entries
        self.generation += 1

    def drop_binding(self, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        namespace = meta.get("namespace", "") if kind == "RoleBinding" else ""
        for key, binding in self._refs.pop((kind, namespace, meta["name"]), []):
            by_ns = self._by_subject.get(key, {})
            bindings = by_ns.get(namespace, [])
            if binding in bindings:
                bindings.remove(binding)
            if not bindings:
                by_ns.pop(namespace, None)
            if not by_ns:
                self._by_subject.pop(key, None)
        self.generation += 1

    def clear(self) -> None:
        self.cluster_roles.clear()
        self.roles.clear()
        self._by_subject.clear()
        self._refs.clear()
        self.generation += 1

    # ----- questions

    def _role_rules(self, binding: BindingRef) -> tuple[Rule, ...]:
        if binding.role_kind == "ClusterRole":
            return self.cluster_roles.get(binding.role_name, ())
        return self.roles.get((binding.namespace, binding.role_name), ())

    def _bindings(self, user: UserInfo, namespace: str) -> list[BindingRef]:
        """The bindings that apply to `user` in `namespace` (cluster-wide ones first)."""
        out: list[BindingRef] = []
        keys = [("User", user.name), *(("Group", g) for g in user.groups)]
        for scope in ("", namespace) if namespace else ("",):
            for key in keys:
                out += self._by_subject.get(key, {}).get(scope, ())
        return out

    def _granted_to(self, user: UserInfo, namespace: str) -> list[tuple[Rule, BindingRef]]:
        if self._granted_generation != self.generation or len(self._granted) > GRANTED_CACHE_SIZE:
            self._granted.clear()
            self._granted_generation = self.generation
        key = (user.name, user.groups, namespace)
        granted = self._granted.get(key)
        if granted is None:
            granted = self._granted[key] = [(rule, binding) for binding in self._bindings(user, namespace)
                                            for rule in self._role_rules(binding)]
        return granted

    def authorize(self, a: Attributes) -> Verdict:
        for rule, binding in self._granted_to(a.user, a.namespace):
            if allows(rule, a):
                where = f' in namespace "{binding.namespace}"' if binding.namespace else ""
                return Verdict(Decision.ALLOW, f'RBAC: allowed by {binding.kind} "{binding.name}"'
                               f"{where} of {binding.role_kind} \"{binding.role_name}\" to {binding.subject}")
        return Verdict(Decision.NO_OPINION)

    def rules_for(self, user: UserInfo, namespace: str) -> list[Rule]:
        """Every rule granted to `user` in `namespace` (RulesFor): for SelfSubjectRulesReview
        and the escalation check."""
        return [rule for rule, _ in self._granted_to(user, namespace)]

    # ----- feeding

    async def start(self, store: Store, cache: WatchCache) -> None:
        for plural, kind in (("clusterroles", "ClusterRole"), ("roles", "Role"),
                             ("clusterrolebindings", "ClusterRoleBinding"), ("rolebindings", "RoleBinding")):
            follower = _Follower(self, store, plural, kind)
            await follower.start(cache)
            self._copies.append(follower)

    async def stop(self) -> None:
        for copy in self._copies:
            await copy.stop()


class _Follower(_CacheCopy):
    """One RBAC kind's copy into the authorizer. A watch the cache cuts off is started again
    from a fresh list, keeping the old answers meanwhile (no one is locked out)."""

    def __init__(self, authorizer: RbacAuthorizer, store: Store, plural: str, kind: str) -> None:
        found = by_resource(GROUP, "v1", plural)
        assert found is not None
        super().__init__(store, found)
        self.authorizer = authorizer
        self.kind_name = kind
        self.task_name = f"rbac-{plural}"
        self._cache: WatchCache | None = None
        self._seen: dict[tuple[str, str], dict[str, Any]] = {}

    async def start(self, cache: WatchCache) -> None:
        self._cache = cache
        await super().start(cache)

    def _put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self._seen[(meta.get("namespace", ""), meta["name"])] = obj
        if self.kind_name.endswith("Binding"):
            self.authorizer.put_binding(self.kind_name, obj)
        else:
            self.authorizer.put_role(self.kind_name, obj)

    def _drop(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self._seen.pop((meta.get("namespace", ""), meta["name"]), None)
        if self.kind_name.endswith("Binding"):
            self.authorizer.drop_binding(self.kind_name, obj)
        else:
            self.authorizer.drop_role(self.kind_name, obj)

    def _forget_all(self) -> None:
        if self._cache is not None:
            asyncio.get_running_loop().create_task(self._resync(self._cache), name=self.task_name)

    async def _resync(self, cache: WatchCache) -> None:
        log.warning("%s: watch cut off, listing again", self.task_name)
        old = dict(self._seen)
        self._seen.clear()
        await super().start(cache)  # re-lists (puts everything listed) and follows anew
        for key, obj in old.items():
            if key not in self._seen:
                self._drop(obj)
