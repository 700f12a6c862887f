"""Escalation checks on writes of roles and bindings, and the bootstrap policy's reconciliation."""

from __future__ import annotations

import pytest

from kubelite.api import status as st
from kubelite.api.rbac.bootstrap import policy
from kubelite.api.registry import by_kind
from kubelite.api.types import meta_v1, rbac_v1
from kubelite.apiserver import request_context
from kubelite.apiserver.auth import User
from kubelite.apiserver.authz import UserInfo
from kubelite.apiserver.authz.bootstrap import reconciled_binding, reconciled_role
from kubelite.apiserver.authz.chain import AuthorizerChain
from kubelite.apiserver.authz.escalation import RbacEscalation

GROUP = "rbac.authorization.k8s.io"
BOB = UserInfo("bob", ("dev", "system:authenticated"))
READ_PODS = {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}


def chain_with_bob_reading_pods() -> AuthorizerChain:
    chain = AuthorizerChain(node=None)
    chain.rbac.put_role("ClusterRole", {"metadata": {"name": "pod-reader"}, "rules": [READ_PODS]})
    chain.rbac.put_role("ClusterRole", {"metadata": {"name": "cluster-admin"},
                                        "rules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]})
    chain.rbac.put_binding("RoleBinding", {
        "metadata": {"name": "b", "namespace": "ns"},
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "pod-reader"},
        "subjects": [{"kind": "User", "name": "bob"}]})
    return chain


def role(*rules: dict[str, list[str]]) -> rbac_v1.Role:
    return rbac_v1.Role(metadata=meta_v1.ObjectMeta(name="r", namespace="ns"),
                        rules=[rbac_v1.PolicyRule(verbs=r["verbs"], api_groups=r.get("apiGroups"),
                                                  resources=r.get("resources")) for r in rules])


def binding(role_name: str) -> rbac_v1.RoleBinding:
    return rbac_v1.RoleBinding(metadata=meta_v1.ObjectMeta(name="grab", namespace="ns"),
                               role_ref=rbac_v1.RoleRef(api_group=GROUP, kind="ClusterRole", name=role_name))


async def admit(chain: AuthorizerChain, kind_name: str, obj: object, user: UserInfo | None = BOB) -> None:
    kind = by_kind(GROUP, "v1", kind_name)
    assert kind is not None
    token = request_context.begin(User(user.name, user.groups) if user else None)
    try:
        await RbacEscalation(chain, store=None)(kind, "ns", obj, None)  # type: ignore[arg-type]
    finally:
        request_context.end(token)


async def test_a_role_with_rules_you_hold_is_allowed_and_more_is_refused() -> None:
    chain = chain_with_bob_reading_pods()
    await admit(chain, "Role", role({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}))
    with pytest.raises(st.Forbidden) as refused:
        await admit(chain, "Role", role({"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods"]}))
    assert refused.value.message == (
        'roles.rbac.authorization.k8s.io "r" is forbidden: user "bob" (groups=["dev" "system:authenticated"]) '
        'is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}')


async def test_binding_needs_the_roles_rules_or_bind() -> None:
    chain = chain_with_bob_reading_pods()
    await admit(chain, "RoleBinding", binding("pod-reader"))
    with pytest.raises(st.Forbidden, match="is attempting to grant RBAC permissions not currently held"):
        await admit(chain, "RoleBinding", binding("cluster-admin"))
    chain.rbac.put_role("ClusterRole", {"metadata": {"name": "binder"}, "rules": [
        {"verbs": ["bind"], "apiGroups": [GROUP], "resources": ["clusterroles"], "resourceNames": ["cluster-admin"]}]})
    chain.rbac.put_binding("ClusterRoleBinding", {
        "metadata": {"name": "bob-binds"}, "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "binder"},
        "subjects": [{"kind": "User", "name": "bob"}]})
    await admit(chain, "RoleBinding", binding("cluster-admin"))


async def test_masters_and_the_server_itself_are_not_checked() -> None:
    chain = chain_with_bob_reading_pods()
    await admit(chain, "RoleBinding", binding("cluster-admin"), UserInfo("root", ("system:masters",)))
    await admit(chain, "RoleBinding", binding("cluster-admin"), None)


def test_reconcile_restores_lost_rules_and_subjects_and_keeps_additions() -> None:
    roles, bindings = policy()
    [basic] = [r for r in roles if r["metadata"]["name"] == "system:basic-user"]
    extra = {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}
    have = {**basic, "metadata": {"name": "system:basic-user"}, "rules": [extra]}
    fixed = reconciled_role(have, basic)
    assert fixed["rules"] == [extra, *basic["rules"]]
    assert fixed["metadata"]["labels"] == {"kubernetes.io/bootstrapping": "rbac-defaults"}
    [admin] = [b for b in bindings if b["metadata"]["name"] == "cluster-admin"]
    lost = {**admin, "subjects": [{"kind": "User", "apiGroup": GROUP, "name": "me"}]}
    assert reconciled_binding(lost, admin)["subjects"] == [
        {"kind": "User", "apiGroup": GROUP, "name": "me"},
        {"kind": "Group", "apiGroup": GROUP, "name": "system:masters"}]
    [view] = [r for r in roles if r["metadata"]["name"] == "view"]
    aggregated = {**view, "rules": [extra]}
    assert reconciled_role(aggregated, view)["rules"] == [extra]  # the controller's, left alone
