"""The RBAC authorizer: rules, wildcards, subresources, resource names, non-resource URLs,
bindings by user, group and service account, namespaces; and Kubernetes' 403 words."""

from __future__ import annotations

from typing import Any

from kubelite.apiserver.authz import Attributes, Decision, UserInfo
from kubelite.apiserver.authz.chain import AuthorizerChain
from kubelite.apiserver.authz.filter import forbidden
from kubelite.apiserver.authz.rbac import RbacAuthorizer
from kubelite.apiserver.authz.rules import Rule, compact_string, compile_rule, uncovered

ALICE = UserInfo("alice", ("dev", "system:authenticated"))
SA = UserInfo("system:serviceaccount:ns:robot", ("system:serviceaccounts", "system:authenticated"))


def role(name: str, *rules: dict[str, Any], namespace: str = "") -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"metadata": meta, "rules": list(rules)}


def binding(name: str, role_kind: str, role_name: str, *subjects: dict[str, str],
            namespace: str = "") -> dict[str, Any]:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"metadata": meta, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                                          "name": role_name}, "subjects": list(subjects)}


def ask(user: UserInfo, verb: str, resource: str, namespace: str = "", **kw: str) -> Attributes:
    return Attributes(user, verb, True, namespace=namespace, resource=resource, **kw)


def authorizer() -> RbacAuthorizer:
    rbac = RbacAuthorizer()
    rbac.put_role("ClusterRole", role("reader", {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods", "pods/log"]}))
    rbac.put_role("ClusterRole", role("one-secret", {"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"],
                                                     "resourceNames": ["s1"]}))
    rbac.put_role("ClusterRole", role("scaler", {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*/scale"]}))
    rbac.put_role("ClusterRole", role("health", {"verbs": ["get"], "nonResourceURLs": ["/healthz", "/logs/*"]}))
    rbac.put_role("Role", role("cm", {"verbs": ["create"], "apiGroups": [""], "resources": ["configmaps"]}, namespace="ns"))
    return rbac


def test_a_role_binding_grants_only_in_its_namespace() -> None:
    rbac = authorizer()
    rbac.put_binding("RoleBinding", binding("b", "ClusterRole", "reader", {"kind": "Group", "name": "dev"}, namespace="ns"))
    assert rbac.authorize(ask(ALICE, "list", "pods", "ns")).decision is Decision.ALLOW
    assert rbac.authorize(ask(ALICE, "get", "pods", "ns", subresource="log")).decision is Decision.ALLOW
    assert rbac.authorize(ask(ALICE, "list", "pods", "other")).decision is Decision.NO_OPINION
    assert rbac.authorize(ask(ALICE, "list", "pods")).decision is Decision.NO_OPINION
    assert rbac.authorize(ask(ALICE, "delete", "pods", "ns")).decision is Decision.NO_OPINION
    assert rbac.authorize(ask(ALICE, "get", "pods", "ns", subresource="exec")).decision is Decision.NO_OPINION


def test_reason_names_the_binding_and_a_deleted_binding_grants_nothing() -> None:
    rbac = authorizer()
    crb = binding("alice-reads", "ClusterRole", "reader", {"kind": "User", "name": "alice"})
    rbac.put_binding("ClusterRoleBinding", crb)
    verdict = rbac.authorize(ask(ALICE, "get", "pods", "any"))
    assert verdict.reason == 'RBAC: allowed by ClusterRoleBinding "alice-reads" of ClusterRole "reader" to User "alice"'
    rbac.drop_binding("ClusterRoleBinding", crb)
    assert rbac.authorize(ask(ALICE, "get", "pods", "any")).decision is Decision.NO_OPINION


def test_service_account_subjects_default_to_the_binding_namespace() -> None:
    rbac = authorizer()
    rbac.put_binding("RoleBinding", binding("b", "Role", "cm", {"kind": "ServiceAccount", "name": "robot"}, namespace="ns"))
    assert rbac.authorize(ask(SA, "create", "configmaps", "ns")).decision is Decision.ALLOW
    other = UserInfo("system:serviceaccount:elsewhere:robot")
    assert rbac.authorize(ask(other, "create", "configmaps", "ns")).decision is Decision.NO_OPINION


def test_resource_names_wildcard_subresources_and_urls() -> None:
    rbac = authorizer()
    for name in ("one-secret", "scaler", "health"):
        rbac.put_binding("ClusterRoleBinding", binding(name, "ClusterRole", name, {"kind": "User", "name": "alice"}))
    assert rbac.authorize(ask(ALICE, "get", "secrets", "ns", name="s1")).decision is Decision.ALLOW
    assert rbac.authorize(ask(ALICE, "get", "secrets", "ns", name="s2")).decision is Decision.NO_OPINION
    assert rbac.authorize(ask(ALICE, "list", "secrets", "ns")).decision is Decision.NO_OPINION
    assert rbac.authorize(ask(ALICE, "patch", "deployments", "ns", subresource="scale", api_group="apps")).decision is Decision.ALLOW
    assert rbac.authorize(ask(ALICE, "patch", "deployments", "ns", api_group="apps")).decision is Decision.NO_OPINION
    assert rbac.authorize(Attributes(ALICE, "get", False, path="/healthz")).decision is Decision.ALLOW
    assert rbac.authorize(Attributes(ALICE, "get", False, path="/logs/x/y")).decision is Decision.ALLOW
    assert rbac.authorize(Attributes(ALICE, "get", False, path="/metrics")).decision is Decision.NO_OPINION


def test_system_masters_may_do_anything_and_rules_for_lists_the_grants() -> None:
    chain = AuthorizerChain(authorizer(), node=None)
    admin = UserInfo("root", ("system:masters",))
    assert chain.allowed(ask(admin, "delete", "nodes", name="n1"))
    assert not chain.allowed(ask(ALICE, "delete", "nodes", name="n1"))
    chain.rbac.put_binding("RoleBinding", binding("b", "Role", "cm", {"kind": "Group", "name": "dev"}, namespace="ns"))
    rules, incomplete = chain.rules_for(ALICE, "ns")
    assert [r.as_dict() for r in rules] == [{"verbs": ["create"], "apiGroups": [""], "resources": ["configmaps"]}]
    assert not incomplete
    assert chain.rules_for(ALICE, "other")[0] == []


def test_forbidden_messages_are_kubernetes_words() -> None:
    user = UserInfo("system:serviceaccount:default:default")
    err = forbidden(ask(user, "list", "secrets", "default"))
    assert err.code == 403
    assert err.message == ('secrets is forbidden: User "system:serviceaccount:default:default" cannot list '
                           'resource "secrets" in API group "" in the namespace "default"')
    assert err.details == {"kind": "secrets"}
    err = forbidden(Attributes(user, "delete", True, api_group="apps", resource="deployments",
                               namespace="ns", name="web"))
    assert err.message.startswith('deployments.apps "web" is forbidden: User')
    err = forbidden(Attributes(user, "get", False, path="/metrics"))
    assert err.message == 'forbidden: User "system:serviceaccount:default:default" cannot get path "/metrics"'


def test_covers_breaks_rules_down() -> None:
    owner = [compile_rule({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}),
             compile_rule({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"]})]
    assert uncovered(owner, [compile_rule({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]})]) == []
    missing = uncovered(owner, [compile_rule({"verbs": ["get", "delete"], "apiGroups": [""], "resources": ["pods"]})])
    assert [compact_string(r) for r in missing] == ['{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}']
    assert uncovered(owner, [compile_rule({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"],
                                           "resourceNames": ["a"]})]) == []
    assert uncovered(owner, [compile_rule({"verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]})])
    star = Rule(frozenset({"*"}), frozenset({"*"}), frozenset({"*"}))
    assert uncovered([star], [compile_rule({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["x/y"]})]) == []
