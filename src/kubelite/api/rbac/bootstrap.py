"""Kubernetes' bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/
policy.go, 1.32), reconciled by the API server at every start.

The user-facing roles `admin`, `edit` and `view` carry only an aggregation rule: their
rules are gathered by the ClusterRole aggregation controller from the `system:aggregate-
to-*` roles (and any ClusterRole a chart labels `rbac.authorization.k8s.io/aggregate-to-
view: "true"` and so on). Node, component and controller roles (system:node, system:node-proxier,
system:kube-scheduler, system:kube-controller-manager, system:controller:*) are
bootstrap_components.py's, reconciled with these.
"""

from __future__ import annotations

from typing import Any

GROUP = "rbac.authorization.k8s.io"
BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"

READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
READ_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]

Rule = dict[str, Any]


def rule(verbs: list[str], groups: list[str], resources: list[str]) -> Rule:
    return {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}


def urls(verbs: list[str], paths: list[str]) -> Rule:
    return {"verbs": list(verbs), "nonResourceURLs": list(paths)}


def events_rule() -> Rule:
    return rule(["create", "update", "patch"], ["", "events.k8s.io"], ["events"])


def cluster_role(name: str, rules: list[Rule], *, aggregate_from: str = "",
                 labels: dict[str, str] | None = None) -> dict[str, Any]:
    role: dict[str, Any] = {
        "apiVersion": f"{GROUP}/v1", "kind": "ClusterRole",
        "metadata": {"name": name, "labels": {**BOOTSTRAP_LABEL, **(labels or {})},
                     "annotations": {AUTOUPDATE: "true"}},
        "rules": rules,
    }
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {AGGREGATE_TO + aggregate_from: "true"}}]}
    return role


def cluster_role_binding(role: str, *, users: tuple[str, ...] = (), groups: tuple[str, ...] = (),
                         name: str = "") -> dict[str, Any]:
    subjects = [{"kind": "User", "apiGroup": GROUP, "name": u} for u in users]
    subjects += [{"kind": "Group", "apiGroup": GROUP, "name": g} for g in groups]
    return {
        "apiVersion": f"{GROUP}/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name or role, "labels": dict(BOOTSTRAP_LABEL),
                     "annotations": {AUTOUPDATE: "true"}},
        "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    }


def _aggregate_to(role: str) -> dict[str, str]:
    return {AGGREGATE_TO + role: "true"}


VIEW_RULES = [
    rule(READ, [""], ["pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                      "services", "services/status", "endpoints", "persistentvolumeclaims",
                      "persistentvolumeclaims/status", "configmaps"]),
    rule(READ, [""], ["limitranges", "resourcequotas", "bindings", "events", "pods/status",
                      "resourcequotas/status", "namespaces/status", "replicationcontrollers/status",
                      "pods/log"]),
    rule(READ, [""], ["namespaces"]),
    rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    rule(READ, ["apps"], ["controllerrevisions", "statefulsets", "statefulsets/scale", "statefulsets/status",
                          "daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                          "deployments/status", "replicasets", "replicasets/scale", "replicasets/status"]),
    rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    rule(READ, ["batch"], ["jobs", "cronjobs", "cronjobs/status", "jobs/status"]),
    rule(READ, ["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                                "deployments/status", "ingresses", "ingresses/status", "networkpolicies",
                                "replicasets", "replicasets/scale", "replicasets/status",
                                "replicationcontrollers/scale"]),
    rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
]

EDIT_RULES = [
    # read access to the escalating resources view leaves out
    rule(READ, [""], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"]),
    rule(["impersonate"], [""], ["serviceaccounts"]),
    rule(WRITE, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
    rule(["create"], [""], ["pods/eviction"]),
    rule(WRITE, [""], ["replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
                       "services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets",
                       "events"]),
    rule(["create"], [""], ["serviceaccounts/token"]),
    rule(WRITE, ["apps"], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments",
                           "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale"]),
    rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    rule(WRITE, ["batch"], ["jobs", "cronjobs"]),
    rule(WRITE, ["extensions"], ["daemonsets", "deployments", "deployments/scale", "deployments/rollback",
                                 "ingresses", "replicasets", "replicasets/scale", "replicationcontrollers/scale",
                                 "networkpolicies"]),
    rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    rule(WRITE, ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
    rule(WRITE, ["coordination.k8s.io"], ["leases"]),
]

ADMIN_RULES = [
    rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    rule(READ_WRITE, [GROUP], ["roles", "rolebindings"]),
]

CLUSTER_ROLES: list[dict[str, Any]] = [
    cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
    cluster_role("system:discovery", [urls(["get"], ["/api", "/api/*", "/apis", "/apis/*", "/healthz",
                                                     "/livez", "/openapi", "/openapi/*", "/readyz",
                                                     "/version", "/version/"])]),
    cluster_role("system:monitoring", [urls(["get"], ["/healthz", "/healthz/*", "/livez", "/livez/*",
                                                      "/metrics", "/metrics/slis", "/readyz", "/readyz/*"])]),
    cluster_role("system:basic-user", [
        rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
        rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
    ]),
    cluster_role("system:public-info-viewer", [urls(["get"], ["/healthz", "/livez", "/readyz", "/version",
                                                              "/version/"])]),
    cluster_role("admin", [], aggregate_from="admin"),
    cluster_role("edit", [], aggregate_from="edit", labels=_aggregate_to("admin")),
    cluster_role("view", [], aggregate_from="view", labels=_aggregate_to("edit")),
    cluster_role("system:aggregate-to-admin", ADMIN_RULES, labels=_aggregate_to("admin")),
    cluster_role("system:aggregate-to-edit", EDIT_RULES, labels=_aggregate_to("edit")),
    cluster_role("system:aggregate-to-view", VIEW_RULES, labels=_aggregate_to("view")),
    cluster_role("system:heapster", [rule(READ, [""], ["events", "pods", "nodes", "namespaces"]),
                                     rule(READ, ["extensions"], ["deployments"])]),
    cluster_role("system:node-problem-detector", [rule(["get"], [""], ["nodes"]),
                                                  rule(["patch"], [""], ["nodes/status"]), events_rule()]),
    cluster_role("system:node-bootstrapper", [
        rule(["create", "get", "list", "watch"], ["certificates.k8s.io"], ["certificatesigningrequests"])]),
    cluster_role("system:auth-delegator", [rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
                                           rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"])]),
    cluster_role("system:kube-aggregator", [rule(READ, [""], ["services", "endpoints"])]),
    cluster_role("system:kube-dns", [rule(["list", "watch"], [""], ["endpoints", "services"])]),
    cluster_role("system:persistent-volume-provisioner", [
        rule(["get", "list", "watch", "create", "delete"], [""], ["persistentvolumes"]),
        rule(["get", "list", "watch", "update"], [""], ["persistentvolumeclaims"]),
        rule(READ, ["storage.k8s.io"], ["storageclasses"]),
        rule(["watch"], [""], ["events"]),
        events_rule(),
    ]),
]

# The node agent here runs the kubelet, the service proxy, the pod network and cluster DNS
# with one credential (system:node:NAME in system:nodes). The Node authorizer and
# system:node-proxier (bootstrap_components.py) grant most of what it needs; besides, DNS
# publishes the node's own EndpointSlice of kube-dns, and the kubelet follows the volumes it
# reclaims (local paths) and deletes them once reclaimed; the Ingress proxy (ingress/node.py)
# follows Ingresses and IngressClasses (their TLS Secrets come through the Node authorizer).
KUBELITE_NODE_AGENT = cluster_role("system:kubelite:node-agent", [
    rule(["get", "create", "update", "patch"], ["discovery.k8s.io"], ["endpointslices"]),
    rule(["list", "watch", "delete"], [""], ["persistentvolumes"]),
    rule(["get", "list", "watch"], ["networking.k8s.io"], ["ingresses", "ingressclasses"]),
])

CLUSTER_ROLE_BINDINGS: list[dict[str, Any]] = [
    cluster_role_binding("cluster-admin", groups=("system:masters",)),
    cluster_role_binding("system:monitoring", groups=("system:monitoring",)),
    cluster_role_binding("system:discovery", groups=("system:authenticated",)),
    cluster_role_binding("system:basic-user", groups=("system:authenticated",)),
    cluster_role_binding("system:public-info-viewer", groups=("system:authenticated", "system:unauthenticated")),
    cluster_role_binding("system:kubelite:node-agent", groups=("system:nodes",)),
    # The legacy shared node token (DATA_DIR/auth/node-token) names no node, so the Node
    # authorizer cannot scope it: it holds system:node's rules everywhere, as every node did
    # before Kubernetes 1.8. Nodes that joined with the join token have certificates of their own.
    cluster_role_binding("system:node", users=("system:node",), name="kubelite:legacy-node-token"),
]


def policy() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ClusterRoles, ClusterRoleBindings) to reconcile: these and bootstrap_components.py's
    (node, proxier, scheduler, controller-manager and per-controller roles), theirs winning
    where both name one."""
    from kubelite.api.rbac import bootstrap_components as components

    roles = {r["metadata"]["name"]: r for r in [*CLUSTER_ROLES, KUBELITE_NODE_AGENT]}
    roles.update((r["metadata"]["name"], r) for r in components.cluster_roles())
    bindings = {b["metadata"]["name"]: b for b in CLUSTER_ROLE_BINDINGS}
    bindings.update((b["metadata"]["name"], b) for b in components.cluster_role_bindings())
    return list(roles.values()), list(bindings.values())
