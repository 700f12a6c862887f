"""The Node authorizer (Kubernetes' plugin/pkg/auth/authorizer/node, node_authorizer.go).

It speaks only for users `system:node:NAME` in group `system:nodes`. Secrets, ConfigMaps,
PersistentVolumeClaims, PersistentVolumes and service-account tokens are allowed only when
the node's graph (node_graph.py) reaches them from a pod bound to the node; leases only the
node's own in kube-node-lease; the rest is what Kubernetes' NodeRules() allow every node
(the NodeRestriction admission plugin then narrows writes to the node's own objects).
What it does not allow it leaves to the next authorizer (NO_OPINION), with Kubernetes'
reason, so RBAC can still grant a node more.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelite.api.rbac.bootstrap_components import NODE_RULES
from kubelite.apiserver.authz import Attributes, Decision, Verdict
from kubelite.apiserver.authz.node_graph import (
    CONFIGMAP,
    PV,
    PVC,
    SECRET,
    SERVICE_ACCOUNT,
    NodeGraph,
)

NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
NODE_LEASE_NAMESPACE = "kube-node-lease"
ALLOW = Verdict(Decision.ALLOW)
NO_OPINION = Verdict(Decision.NO_OPINION)


def node_name(user_name: str, groups: Iterable[str]) -> str | None:
    """The node a user is (Kubernetes' NodeIdentifier): `system:node:NAME` in `system:nodes`;
    "" for a node user without a name, None for anyone else."""
    if NODES_GROUP not in groups or not user_name.startswith(NODE_USER_PREFIX):
        return None
    return user_name[len(NODE_USER_PREFIX):]


def _no(reason: str) -> Verdict:
    return Verdict(Decision.NO_OPINION, reason)


class NodeAuthorizer:
    """Answers from the in-memory graph and the static node rules: no store read."""

    def __init__(self, graph: NodeGraph, rules: list[dict[str, Any]] | None = None) -> None:
        self.graph = graph
        self.rules = NODE_RULES if rules is None else rules

    def authorize(self, attributes: Attributes) -> Verdict:
        user = attributes.user
        node = node_name(user.name, user.groups)
        if node is None:
            return NO_OPINION
        if not node:
            return _no(f'unknown node for user "{user.name}"')
        if attributes.resource_request:
            decided = self._subdivided(node, attributes)
            if decided is not None:
                return decided
        return ALLOW if rules_allow(self.rules, attributes) else NO_OPINION

    def _subdivided(self, node: str, a: Attributes) -> Verdict | None:
        """The resources whose access depends on the node; None for the others."""
        if a.api_group == "":
            if a.resource == "secrets":
                return self._read_namespaced(node, SECRET, a)
            if a.resource == "configmaps":
                return self._read_namespaced(node, CONFIGMAP, a)
            if a.resource == "persistentvolumeclaims":
                if a.subresource == "status":
                    return self._status_update(node, PVC, a)
                return self._get(node, PVC, a)
            if a.resource == "persistentvolumes":
                return self._get(node, PV, a)
            if a.resource == "serviceaccounts":
                return self._create_token(node, a)
        elif a.api_group == "coordination.k8s.io" and a.resource == "leases":
            return self._lease(node, a)
        return None

    def _reachable(self, node: str, vertex: str, a: Attributes) -> Verdict:
        if not a.name:
            return _no("No Object name found")
        if self.graph.reaches(node, vertex, a.namespace, a.name):
            return ALLOW
        return _no(f"no relationship found between node '{node}' and this object")

    def _read_namespaced(self, node: str, vertex: str, a: Attributes) -> Verdict:
        if a.verb not in ("get", "list", "watch"):
            return _no("can only read resources of this type")
        if a.subresource:
            return _no("cannot read subresource")
        if not a.namespace:
            return _no("can only read namespaced object of this type")
        return self._reachable(node, vertex, a)

    def _get(self, node: str, vertex: str, a: Attributes) -> Verdict:
        if a.verb != "get":
            return _no("can only get individual resources of this type")
        if a.subresource:
            return _no("cannot get subresource")
        return self._reachable(node, vertex, a)

    def _status_update(self, node: str, vertex: str, a: Attributes) -> Verdict:
        if a.verb not in ("update", "patch"):
            return _no("can only get/update/patch this type")
        if a.subresource != "status":
            return _no("can only update status subresource")
        return self._reachable(node, vertex, a)

    def _create_token(self, node: str, a: Attributes) -> Verdict:
        if a.verb != "create" or not a.name:
            return _no("can only create tokens for individual service accounts")
        if a.subresource != "token":
            return _no("can only create token subresource of serviceaccount")
        return self._reachable(node, SERVICE_ACCOUNT, a)

    @staticmethod
    def _lease(node: str, a: Attributes) -> Verdict:
        if a.verb not in ("get", "create", "update", "patch", "delete"):
            return _no("can only get, create, update, patch, or delete a node lease")
        if a.namespace != NODE_LEASE_NAMESPACE:
            return _no(f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace')
        # create carries no name: the NodeRestriction admission plugin checks it
        if a.verb != "create" and a.name != node:
            return _no("can only access node lease with the same name as the requesting node")
        return ALLOW


def rules_allow(rules: Iterable[dict[str, Any]], a: Attributes) -> bool:
    """Whether one of the PolicyRules covers the request (RBAC's RuleAllows, without
    resourceNames beyond an exact match)."""
    return any(_rule_allows(r, a) for r in rules)


def _rule_allows(rule: dict[str, Any], a: Attributes) -> bool:
    verbs = rule.get("verbs") or ()
    if "*" not in verbs and a.verb not in verbs:
        return False
    if not a.resource_request:
        urls = rule.get("nonResourceURLs") or ()
        return any(u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1])) for u in urls)
    groups = rule.get("apiGroups") or ()
    if "*" not in groups and a.api_group not in groups:
        return False
    resource = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    resources = rule.get("resources") or ()
    if "*" not in resources and resource not in resources \
            and not (a.subresource and f"*/{a.subresource}" in resources):
        return False
    names = rule.get("resourceNames") or ()
    return not names or a.name in names
