"""The bootstrap roles of nodes and control-plane components, as Kubernetes'
plugin/pkg/auth/authorizer/rbac/bootstrappolicy (policy.go's system:node, system:node-proxier,
system:kube-scheduler, system:kube-controller-manager; controller_policy.go's
system:controller:* roles bound to service accounts in kube-system, used when the
controller-manager runs with `--use-service-account-credentials`).

Plain dicts (ClusterRole / ClusterRoleBinding / Role / RoleBinding objects) that the RBAC
reconciler writes at every server start beside the rest of the bootstrap policy. `NODE_RULES`
is also what the Node authorizer allows a node outside its graph (Kubernetes' NodeRules()).
"""

from __future__ import annotations

from typing import Any

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_VERSION = f"{RBAC_GROUP}/v1"
READ = ("get", "list", "watch")
READ_WRITE = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
KUBE_SYSTEM = "kube-system"

NODES_GROUP = "system:nodes"
SCHEDULER_USER = "system:kube-scheduler"
CONTROLLER_MANAGER_USER = "system:kube-controller-manager"
KUBE_PROXY_USER = "system:kube-proxy"


def rule(verbs: tuple[str, ...] | list[str], groups: tuple[str, ...] | list[str], resources: tuple[str, ...] | list[str],
         names: tuple[str, ...] = ()) -> dict[str, Any]:
    """One PolicyRule."""
    out: dict[str, Any] = {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}
    if names:
        out["resourceNames"] = list(names)
    return out


def _patch(groups: tuple[str, ...], *resources: str) -> dict[str, Any]:
    """kubelite's controllers write status (and some specs) with a merge patch where
    Kubernetes' use update: the patch verb on just those resources."""
    return rule(("patch",), groups, resources)


def _events() -> dict[str, Any]:
    return rule(("create", "update", "patch"), ("", "events.k8s.io"), ("events",))


NODE_RULES: list[dict[str, Any]] = [
    rule(("create",), ("authentication.k8s.io",), ("tokenreviews",)),
    rule(("create",), ("authorization.k8s.io",), ("subjectaccessreviews", "localsubjectaccessreviews")),
    rule(READ, ("",), ("services",)),
    rule(("create", "get", "list", "watch"), ("",), ("nodes",)),
    rule(("update", "patch"), ("",), ("nodes/status",)),
    rule(("update", "patch"), ("",), ("nodes",)),
    rule(("create", "update", "patch"), ("",), ("events",)),
    rule(READ, ("",), ("pods",)),
    rule(("create", "delete"), ("",), ("pods",)),
    rule(("update", "patch"), ("",), ("pods/status",)),
    rule(("create",), ("",), ("pods/eviction",)),
    rule(READ, ("",), ("secrets", "configmaps")),
    rule(("get",), ("",), ("persistentvolumeclaims", "persistentvolumes")),
    rule(("get",), ("",), ("endpoints",)),
    rule(("create", "get", "list", "watch"), ("certificates.k8s.io",), ("certificatesigningrequests",)),
    rule(("get", "create", "update", "patch", "delete"), ("coordination.k8s.io",), ("leases",)),
    rule(("get",), ("storage.k8s.io",), ("volumeattachments",)),
    rule(("create",), ("",), ("serviceaccounts/token",)),
    rule(("update", "patch"), ("",), ("persistentvolumeclaims/status",)),
    rule(("get",), ("storage.k8s.io",), ("csidrivers",)),
    rule(("get", "create", "update", "patch", "delete"), ("storage.k8s.io",), ("csinodes",)),
    rule(("get", "list", "watch"), ("node.k8s.io",), ("runtimeclasses",)),
]

NODE_PROXIER_RULES: list[dict[str, Any]] = [
    rule(("list", "watch"), ("",), ("services", "endpoints")),
    rule(("get", "list", "watch"), ("",), ("nodes",)),
    _events(),
    rule(("list", "watch"), ("discovery.k8s.io",), ("endpointslices",)),
    # kubelite's agent also enforces NetworkPolicy and serves cluster DNS (kube-router's and
    # CoreDNS' reads) with the same credential
    rule(("list", "watch"), ("networking.k8s.io",), ("networkpolicies",)),
    rule(("list", "watch"), ("",), ("namespaces", "pods")),
]

SCHEDULER_RULES: list[dict[str, Any]] = [
    _events(),
    rule(("create",), ("coordination.k8s.io",), ("leases",)),
    rule(("get", "update"), ("coordination.k8s.io",), ("leases",), ("kube-scheduler",)),
    rule(("delete", "get", "list", "watch"), ("",), ("nodes",)),
    rule(("delete", "get", "list", "watch"), ("",), ("pods",)),  # delete: preemption
    rule(("create",), ("",), ("pods/binding", "bindings")),
    rule(("patch", "update"), ("",), ("pods/status",)),
    rule(READ, ("",), ("replicationcontrollers", "services")),
    rule(READ, ("apps", "extensions"), ("replicasets",)),
    rule(READ, ("apps",), ("statefulsets",)),
    rule(READ, ("policy",), ("poddisruptionbudgets",)),
    rule(("get", "list", "watch", "update"), ("",), ("persistentvolumeclaims", "persistentvolumes")),
    # volume binding's PreBind writes a claim's selected-node annotation as a merge patch
    _patch(("",), "persistentvolumeclaims"),
    rule(("create",), ("authentication.k8s.io",), ("tokenreviews",)),
    rule(("create",), ("authorization.k8s.io",), ("subjectaccessreviews",)),
    rule(READ, ("storage.k8s.io",), ("csinodes", "csidrivers", "csistoragecapacities", "storageclasses")),
    rule(READ, ("",), ("namespaces",)),
]

CONTROLLER_MANAGER_RULES: list[dict[str, Any]] = [
    _events(),
    rule(("create",), ("coordination.k8s.io",), ("leases",)),
    rule(("get", "update"), ("coordination.k8s.io",), ("leases",), ("kube-controller-manager",)),
    rule(("create",), ("",), ("secrets", "serviceaccounts")),
    rule(("delete",), ("",), ("secrets",)),
    rule(("get",), ("",), ("configmaps", "namespaces", "secrets", "serviceaccounts")),
    rule(("update",), ("",), ("secrets", "serviceaccounts")),
    rule(("create",), ("authentication.k8s.io",), ("tokenreviews",)),
    rule(("create",), ("authorization.k8s.io",), ("subjectaccessreviews",)),
    rule(("list", "watch"), ("*",), ("*",)),  # the shared informers of every controller
    rule(("create",), ("",), ("serviceaccounts/token",)),
]

# controller_policy.go: one role per controller, bound to kube-system/<controller> when the
# controller-manager uses service account credentials. (name, rules)
CONTROLLER_ROLES: dict[str, list[dict[str, Any]]] = {
    "deployment-controller": [
        _patch(("apps", "extensions"), "deployments/status", "deployments"),  # the revision annotation
        rule(("get", "list", "watch", "update"), ("apps", "extensions"), ("deployments",)),
        rule(("update",), ("apps", "extensions"), ("deployments/status",)),
        rule(("update",), ("apps", "extensions"), ("deployments/finalizers",)),
        rule(("create", "delete", "get", "list", "patch", "update", "watch"), ("apps", "extensions"), ("replicasets",)),
        rule(("get", "list", "watch", "update"), ("",), ("pods",)),
        _events(),
    ],
    "replicaset-controller": [
        _patch(("apps", "extensions"), "replicasets/status"),
        rule(("get", "list", "watch", "update"), ("apps", "extensions"), ("replicasets",)),
        rule(("update",), ("apps", "extensions"), ("replicasets/status",)),
        rule(("update",), ("apps", "extensions"), ("replicasets/finalizers",)),
        rule(("list", "watch", "patch", "create", "delete"), ("",), ("pods",)),
        _events(),
    ],
    "statefulset-controller": [
        _patch(("apps",), "statefulsets/status"),
        _patch(("",), "persistentvolumeclaims"),  # the claims' ownerReferences (retention policy)
        rule(("list", "watch"), ("",), ("pods",)),
        rule(("list", "watch"), ("apps",), ("statefulsets",)),
        rule(("update",), ("apps",), ("statefulsets/status",)),
        rule(("update",), ("apps",), ("statefulsets/finalizers",)),
        rule(("get", "create", "delete", "update", "patch"), ("",), ("pods",)),
        rule(("get", "create", "delete", "update", "patch", "list", "watch"), ("apps",),
             ("controllerrevisions",)),
        rule(("get", "create"), ("",), ("persistentvolumeclaims",)),
        rule(("update", "delete"), ("",), ("persistentvolumeclaims",)),
        _events(),
    ],
    "daemon-set-controller": [
        _patch(("apps", "extensions"), "daemonsets/status"),
        rule(("get", "list", "watch"), ("apps", "extensions"), ("daemonsets",)),
        rule(("update",), ("apps", "extensions"), ("daemonsets/status",)),
        rule(("update",), ("apps", "extensions"), ("daemonsets/finalizers",)),
        rule(("list", "watch"), ("",), ("nodes",)),
        rule(("list", "watch", "create", "delete", "patch"), ("",), ("pods",)),
        rule(("create",), ("",), ("pods/binding",)),
        rule(("get", "list", "watch", "create", "delete", "update", "patch"), ("apps",),
             ("controllerrevisions",)),
        _events(),
    ],
    "replication-controller": [
        _patch(("",), "replicationcontrollers/status"),
        rule(("get", "list", "watch", "update"), ("",), ("replicationcontrollers",)),
        rule(("update",), ("",), ("replicationcontrollers/status",)),
        rule(("update",), ("",), ("replicationcontrollers/finalizers",)),
        rule(("list", "watch", "patch", "create", "delete"), ("",), ("pods",)),
        _events(),
    ],
    "job-controller": [
        rule(("get", "list", "watch", "update", "patch"), ("batch",), ("jobs",)),
        rule(("update", "patch"), ("batch",), ("jobs/status",)),
        rule(("update",), ("batch",), ("jobs/finalizers",)),
        rule(("list", "watch", "create", "delete", "patch"), ("",), ("pods",)),
        _events(),
    ],
    "cronjob-controller": [
        _patch(("batch",), "cronjobs/status"),
        rule(("get", "list", "watch", "update", "patch"), ("batch",), ("cronjobs",)),
        rule(("get", "list", "watch", "create", "update", "delete", "patch"), ("batch",), ("jobs",)),
        rule(("update",), ("batch",), ("cronjobs/status",)),
        rule(("update",), ("batch",), ("cronjobs/finalizers",)),
        rule(("list", "delete"), ("",), ("pods",)),
        _events(),
    ],
    # kubelite's own: ServiceLB (controllers/servicelb.py) and the Ingress addresses
    # (controllers/ingress_status.py), with the rules of Kubernetes' service-controller
    "service-lb-controller": [
        rule(READ, ("",), ("services", "nodes")),
        rule(("patch", "update"), ("",), ("services/status",)),
        rule(READ, ("discovery.k8s.io",), ("endpointslices",)),
        _events(),
    ],
    "ingress-status-controller": [
        rule(READ, ("networking.k8s.io",), ("ingresses", "ingressclasses")),
        rule(("patch", "update"), ("networking.k8s.io",), ("ingresses/status",)),
        rule(READ, ("",), ("nodes",)),
        _events(),
    ],
    "ttl-after-finished-controller": [
        rule(("get", "list", "watch", "delete"), ("batch",), ("jobs",)),
        _events(),
    ],
    "endpoint-controller": [
        rule(("get", "list", "watch"), ("",), ("services", "pods")),
        rule(("get", "list", "create", "update", "delete"), ("",), ("endpoints",)),
        rule(("create",), ("",), ("endpoints/restricted",)),
        _events(),
    ],
    "endpointslice-controller": [
        rule(("get", "list", "watch"), ("",), ("services", "pods", "nodes")),
        rule(("update",), ("",), ("services/finalizers",)),
        rule(("get", "list", "create", "update", "delete"), ("discovery.k8s.io",), ("endpointslices",)),
        _events(),
    ],
    "namespace-controller": [
        rule(("get", "list", "watch", "delete"), ("",), ("namespaces",)),
        rule(("update",), ("",), ("namespaces/finalize", "namespaces/status")),
        rule(("get", "list", "delete", "deletecollection"), ("*",), ("*",)),
    ],
    "service-account-controller": [
        rule(("create",), ("",), ("serviceaccounts",)),
        # kubelite's service account controller also publishes kube-root-ca.crt (Kubernetes'
        # root-ca-cert-publisher, below): that controller's rule
        rule(("create", "update"), ("",), ("configmaps",)),
        _events(),
    ],
    "root-ca-cert-publisher": [
        rule(("create", "update"), ("",), ("configmaps",)),
        _events(),
    ],
    "node-ipam-controller": [
        rule(("list",), ("",), ("nodes",)),
        rule(("update",), ("",), ("nodes/status",)),
        rule(("patch", "update"), ("",), ("nodes",)),
        _events(),
    ],
    "node-controller": [
        rule(("get", "list", "update", "delete", "patch"), ("",), ("nodes",)),
        rule(("patch", "update"), ("",), ("nodes/status",)),
        rule(("patch", "update"), ("",), ("pods/status",)),
        rule(("list", "delete"), ("",), ("pods",)),
        rule(("create",), ("",), ("pods/eviction",)),
        _events(),
    ],
    "persistent-volume-binder": [
        _patch(("",), "persistentvolumes", "persistentvolumes/status", "persistentvolumeclaims",
               "persistentvolumeclaims/status"),
        rule(("get", "list", "watch", "update", "create", "delete"), ("",), ("persistentvolumes",)),
        rule(("update",), ("",), ("persistentvolumes/status",)),
        rule(("get", "list", "watch", "update"), ("",), ("persistentvolumeclaims",)),
        rule(("update",), ("",), ("persistentvolumeclaims/status",)),
        rule(("list", "watch", "get", "create", "delete"), ("",), ("pods",)),
        rule(("get", "list", "watch"), ("storage.k8s.io",), ("storageclasses",)),
        rule(("get", "create", "delete"), ("",), ("endpoints", "services")),
        rule(("get",), ("",), ("secrets",)),
        rule(("get", "list"), ("",), ("nodes",)),
        _events(),
    ],
    "pod-garbage-collector": [
        rule(("list", "watch", "delete"), ("",), ("pods",)),
        rule(("get", "list"), ("",), ("nodes",)),
        rule(("patch",), ("",), ("pods/status",)),
    ],
    "clusterrole-aggregation-controller": [
        rule(("escalate", "get", "list", "watch", "update", "patch"), (RBAC_GROUP,), ("clusterroles",)),
    ],
    # Not a Kubernetes controller: k3s' local-path-provisioner (its local-path-provisioner-role,
    # narrowed to what kubelite's in-process provisioner does: make and delete the volumes of
    # claims on its StorageClass)
    "local-path-provisioner": [
        rule(READ, ("",), ("nodes", "persistentvolumeclaims", "configmaps")),
        rule(("get", "list", "watch", "create", "delete", "patch", "update"), ("",), ("persistentvolumes",)),
        rule(READ, ("storage.k8s.io",), ("storageclasses",)),
        # it puts the default `local-path` StorageClass in place (k3s ships it as a manifest)
        rule(("create",), ("storage.k8s.io",), ("storageclasses",)),
        _events(),
    ],
    "pvc-protection-controller": [
        rule(("get", "list", "watch", "update"), ("",), ("persistentvolumeclaims",)),
        rule(("list", "watch", "get"), ("",), ("pods",)),
        _events(),
    ],
    "pv-protection-controller": [
        rule(("get", "list", "watch", "update"), ("",), ("persistentvolumes",)),
        _events(),
    ],
    "resourcequota-controller": [
        rule(("list", "watch"), ("*",), ("*",)),
        rule(("update",), ("",), ("resourcequotas/status",)),
        _events(),
    ],
    "generic-garbage-collector": [
        rule(("get", "list", "watch", "patch", "update", "delete"), ("*",), ("*",)),
        _events(),
    ],
    "disruption-controller": [
        _patch(("policy",), "poddisruptionbudgets/status"),
        rule(("get", "list", "watch"), ("apps", "extensions"), ("deployments", "replicasets", "statefulsets")),
        rule(("get", "list", "watch"), ("",), ("replicationcontrollers", "pods")),
        rule(("get", "list", "watch"), ("policy",), ("poddisruptionbudgets",)),
        rule(("update",), ("policy",), ("poddisruptionbudgets/status",)),
        rule(("get",), ("*",), ("*/scale",)),
        rule(("patch", "update"), ("",), ("pods/status",)),
        _events(),
    ],
    "horizontal-pod-autoscaler": [
        rule(("get", "list", "watch"), ("autoscaling",), ("horizontalpodautoscalers",)),
        rule(("update",), ("autoscaling",), ("horizontalpodautoscalers/status",)),
        rule(("get", "update"), ("*",), ("*/scale",)),
        rule(("list",), ("",), ("pods",)),
        rule(("list",), ("metrics.k8s.io",), ("pods",)),
        rule(("get", "list"), ("custom.metrics.k8s.io",), ("*",)),
        rule(("get", "list"), ("external.metrics.k8s.io",), ("*",)),
        _events(),
    ],
}


def _meta(name: str, namespace: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(BOOTSTRAP_LABELS), "annotations": dict(AUTOUPDATE)}
    if namespace:
        meta["namespace"] = namespace
    return meta


def cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": RBAC_VERSION, "kind": "ClusterRole", "metadata": _meta(name), "rules": rules}


def cluster_role_binding(name: str, role: str, subjects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": RBAC_VERSION, "kind": "ClusterRoleBinding", "metadata": _meta(name),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role}, "subjects": subjects}


def user(name: str) -> dict[str, Any]:
    return {"apiGroup": RBAC_GROUP, "kind": "User", "name": name}


def group(name: str) -> dict[str, Any]:
    return {"apiGroup": RBAC_GROUP, "kind": "Group", "name": name}


def service_account(name: str, namespace: str = KUBE_SYSTEM) -> dict[str, Any]:
    return {"kind": "ServiceAccount", "name": name, "namespace": namespace}


def controller_role_name(controller: str) -> str:
    return f"system:controller:{controller}"


def cluster_roles() -> list[dict[str, Any]]:
    """The ClusterRoles of nodes, the scheduler, the controller-manager and each controller."""
    roles = [
        cluster_role("system:node", NODE_RULES),
        cluster_role("system:node-proxier", NODE_PROXIER_RULES),
        cluster_role("system:kube-scheduler", SCHEDULER_RULES),
        cluster_role("system:kube-controller-manager", CONTROLLER_MANAGER_RULES),
    ]
    roles += [cluster_role(controller_role_name(c), rules) for c, rules in CONTROLLER_ROLES.items()]
    return roles


def cluster_role_bindings() -> list[dict[str, Any]]:
    """Their bindings. system:node is bound to no one, as in Kubernetes: the Node authorizer
    grants nodes what their graph allows. The agent's proxy, network policy and DNS loops use
    the node's credential (k3s gives its kube-proxy a certificate of its own), so
    system:node-proxier is bound to the nodes' group as well as to system:kube-proxy."""
    bindings = [
        cluster_role_binding("system:node", "system:node", []),
        cluster_role_binding("system:node-proxier", "system:node-proxier", [user(KUBE_PROXY_USER)]),
        cluster_role_binding("kubelite:node-proxier", "system:node-proxier", [group(NODES_GROUP)]),
        cluster_role_binding("system:kube-scheduler", "system:kube-scheduler", [user(SCHEDULER_USER)]),
        cluster_role_binding("system:kube-controller-manager", "system:kube-controller-manager",
                             [user(CONTROLLER_MANAGER_USER)]),
    ]
    bindings += [cluster_role_binding(controller_role_name(c), controller_role_name(c), [service_account(c)])
                 for c in CONTROLLER_ROLES]
    return bindings


def service_accounts() -> list[dict[str, Any]]:
    """The per-controller service accounts in kube-system the bindings name."""
    return [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": c, "namespace": KUBE_SYSTEM}}
            for c in CONTROLLER_ROLES]


def objects() -> list[dict[str, Any]]:
    """Everything above, roles before the bindings that name them."""
    return [*cluster_roles(), *cluster_role_bindings()]
