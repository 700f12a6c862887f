"""The Node authorizer, fed a graph by hand: nodes read only what their pods reference."""

from __future__ import annotations

from kubelite.apiserver.authz import Attributes, Decision, UserInfo
from kubelite.apiserver.authz.node import NodeAuthorizer, node_name
from kubelite.apiserver.authz.node_graph import NodeGraph

N1 = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))


def authorizer() -> NodeAuthorizer:
    g = NodeGraph()
    g.set_pod({"metadata": {"name": "p", "namespace": "app", "uid": "u"},
               "spec": {"nodeName": "n1", "serviceAccountName": "sa", "containers": [{"name": "c"}],
                        "volumes": [{"name": "s", "secret": {"secretName": "mine"}},
                                    {"name": "c", "persistentVolumeClaim": {"claimName": "data"}}]}})
    g.set_pod({"metadata": {"name": "q", "namespace": "app", "uid": "v"},
               "spec": {"nodeName": "n2", "containers": [{"name": "c"}],
                        "volumes": [{"name": "s", "secret": {"secretName": "theirs"}}]}})
    g.set_claim({"metadata": {"name": "data", "namespace": "app"}, "spec": {"volumeName": "pv-data"}})
    return NodeAuthorizer(g)


def ask(verb: str, resource: str, name: str = "", namespace: str = "app", subresource: str = "",
        group: str = "", user: UserInfo = N1) -> tuple[Decision, str]:
    v = authorizer().authorize(Attributes(user, verb, True, namespace=namespace, api_group=group,
                                          api_version="v1", resource=resource, subresource=subresource, name=name))
    return v.decision, v.reason


def test_node_identity_needs_the_group_and_the_prefix() -> None:
    assert node_name("system:node:n1", ["system:nodes"]) == "n1"
    assert node_name("system:node:n1", ["system:authenticated"]) is None
    assert node_name("alice", ["system:nodes"]) is None
    assert ask("get", "secrets", "x", user=UserInfo("system:node:", ("system:nodes",))) == \
        (Decision.NO_OPINION, 'unknown node for user "system:node:"')


def test_other_users_get_no_opinion() -> None:
    assert ask("get", "secrets", "mine", user=UserInfo("alice", ("dev",))) == (Decision.NO_OPINION, "")


def test_secrets_of_own_pods_only_with_kubernetes_reason() -> None:
    assert ask("get", "secrets", "mine")[0] is Decision.ALLOW
    assert ask("watch", "secrets", "mine")[0] is Decision.ALLOW  # a single-object watch (name from fieldSelector)
    assert ask("get", "secrets", "theirs") == (Decision.NO_OPINION, "no relationship found between node 'n1' and this object")
    assert ask("list", "secrets") == (Decision.NO_OPINION, "No Object name found")
    assert ask("delete", "secrets", "mine") == (Decision.NO_OPINION, "can only read resources of this type")


def test_claims_volumes_and_tokens_follow_the_graph() -> None:
    assert ask("get", "persistentvolumeclaims", "data")[0] is Decision.ALLOW
    assert ask("list", "persistentvolumeclaims") == (Decision.NO_OPINION, "can only get individual resources of this type")
    assert ask("get", "persistentvolumes", "pv-data", namespace="")[0] is Decision.ALLOW
    assert ask("get", "persistentvolumes", "other", namespace="")[0] is Decision.NO_OPINION
    assert ask("create", "serviceaccounts", "sa", subresource="token")[0] is Decision.ALLOW
    assert ask("create", "serviceaccounts", "default", subresource="token")[0] is Decision.NO_OPINION
    assert ask("get", "serviceaccounts", "sa") == (Decision.NO_OPINION, "can only create tokens for individual service accounts")


def test_only_its_own_lease_in_kube_node_lease() -> None:
    lease = {"group": "coordination.k8s.io", "namespace": "kube-node-lease"}
    assert ask("update", "leases", "n1", **lease)[0] is Decision.ALLOW
    assert ask("create", "leases", **lease)[0] is Decision.ALLOW
    assert ask("update", "leases", "n2", **lease) == \
        (Decision.NO_OPINION, "can only access node lease with the same name as the requesting node")
    assert ask("get", "leases", "n1", group="coordination.k8s.io", namespace="default") == \
        (Decision.NO_OPINION, 'can only access leases in the "kube-node-lease" system namespace')


def test_static_node_rules_for_the_rest() -> None:
    assert ask("patch", "nodes", "n1", namespace="", subresource="status")[0] is Decision.ALLOW
    assert ask("update", "pods", "p", subresource="status")[0] is Decision.ALLOW
    assert ask("list", "services", namespace="")[0] is Decision.ALLOW
    assert ask("create", "pods", "p", subresource="eviction")[0] is Decision.ALLOW
    assert ask("delete", "nodes", "n2", namespace="")[0] is Decision.NO_OPINION
    assert ask("list", "deployments", group="apps")[0] is Decision.NO_OPINION
    assert ask("update", "pods", "p")[0] is Decision.NO_OPINION
