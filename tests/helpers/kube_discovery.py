"""What kube-apiserver 1.32 lists for each resource, written from Kubernetes' own
fixtures (api/discovery/*.json and pkg/controlplane/storageversionhashdata/data.go),
not from kubelite.

One row per APIResource of /api/v1 and /apis/GROUP/VERSION: the group version, then the
entry as kube-apiserver writes it. The table covers kinds kubelite does not serve yet
(workloads, RBAC...), so a kind added later is checked the moment it is served.
"""

from __future__ import annotations

from typing import Any

ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
STATUS = ["get", "patch", "update"]
PROXY = ["create", "delete", "get", "patch", "update"]
SCALE = {"group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": STATUS}


def _stored(name: str, kind: str, hash_: str, *, namespaced: bool = True, short: tuple[str, ...] = (),
            all_: bool = False, verbs: list[str] = ALL, singular: str | None = None,
            categories: tuple[str, ...] = ()) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "singularName": singular or kind.lower(),
                             "namespaced": namespaced, "kind": kind, "verbs": verbs}
    if short:
        entry["shortNames"] = list(short)
    if all_ or categories:
        entry["categories"] = ["all"] if all_ else list(categories)
    entry["storageVersionHash"] = hash_
    return entry


def _virtual(name: str, kind: str, *, namespaced: bool = False, verbs: list[str] = ["create"],  # noqa: B006
             short: tuple[str, ...] = ()) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "singularName": kind.lower(), "namespaced": namespaced,
                             "kind": kind, "verbs": verbs}
    if short:
        entry["shortNames"] = list(short)
    return entry


def _sub(name: str, kind: str, verbs: list[str], *, namespaced: bool = True,
         other: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "singularName": "", "namespaced": namespaced}
    if other:
        entry["group"], entry["version"] = other["group"], other["version"]
        kind, verbs = other["kind"], other["verbs"]
    entry["kind"] = kind
    entry["verbs"] = verbs
    return entry


EVICTION = {"group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}
TOKEN = {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"]}

RESOURCES: dict[str, list[dict[str, Any]]] = {
    "v1": [
        _virtual("bindings", "Binding", namespaced=True),
        _virtual("componentstatuses", "ComponentStatus", verbs=["get", "list"], short=("cs",)),
        _stored("configmaps", "ConfigMap", "qFsyl6wFWjQ=", short=("cm",)),
        _stored("endpoints", "Endpoints", "fWeeMqaN/OA=", short=("ep",), singular="endpoints"),
        _stored("events", "Event", "r2yiGXH7wu8=", short=("ev",)),
        _stored("limitranges", "LimitRange", "EBKMFVe6cwo=", short=("limits",)),
        _stored("namespaces", "Namespace", "Q3oi5N2YM8M=", namespaced=False, short=("ns",),
                verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
        _sub("namespaces/finalize", "Namespace", ["update"], namespaced=False),
        _sub("namespaces/status", "Namespace", STATUS, namespaced=False),
        _stored("nodes", "Node", "XwShjMxG9Fs=", namespaced=False, short=("no",)),
        _sub("nodes/proxy", "NodeProxyOptions", PROXY, namespaced=False),
        _sub("nodes/status", "Node", STATUS, namespaced=False),
        _stored("persistentvolumeclaims", "PersistentVolumeClaim", "QWTyNDq0dC4=", short=("pvc",)),
        _sub("persistentvolumeclaims/status", "PersistentVolumeClaim", STATUS),
        _stored("persistentvolumes", "PersistentVolume", "HN/zwEC+JgM=", namespaced=False, short=("pv",)),
        _sub("persistentvolumes/status", "PersistentVolume", STATUS, namespaced=False),
        _stored("pods", "Pod", "xPOwRZ+Yhw8=", short=("po",), all_=True),
        _sub("pods/attach", "PodAttachOptions", ["create", "get"]),
        _sub("pods/binding", "Binding", ["create"]),
        _sub("pods/ephemeralcontainers", "Pod", STATUS),
        _sub("pods/eviction", "", [], other=EVICTION),
        _sub("pods/exec", "PodExecOptions", ["create", "get"]),
        _sub("pods/log", "Pod", ["get"]),
        _sub("pods/portforward", "PodPortForwardOptions", ["create", "get"]),
        _sub("pods/proxy", "PodProxyOptions", PROXY),
        _sub("pods/status", "Pod", STATUS),
        _stored("podtemplates", "PodTemplate", "LIXB2x4IFpk="),
        _stored("replicationcontrollers", "ReplicationController", "Jond2If31h0=", short=("rc",), all_=True),
        _sub("replicationcontrollers/scale", "", [], other=SCALE),
        _sub("replicationcontrollers/status", "ReplicationController", STATUS),
        _stored("resourcequotas", "ResourceQuota", "8uhSgffRX6w=", short=("quota",)),
        _sub("resourcequotas/status", "ResourceQuota", STATUS),
        _stored("secrets", "Secret", "S6u1pOWzb84="),
        _stored("serviceaccounts", "ServiceAccount", "pbx9ZvyFpBE=", short=("sa",)),
        _sub("serviceaccounts/token", "", [], other=TOKEN),
        # Services had no deletecollection (their delete releases IPs one object at a time).
        _stored("services", "Service", "0/CO1lhkEBI=", short=("svc",), all_=True,
                verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
        _sub("services/proxy", "ServiceProxyOptions", PROXY),
        _sub("services/status", "Service", STATUS),
    ],
    "apps/v1": [
        _stored("controllerrevisions", "ControllerRevision", "85nkx63pcBU="),
        _stored("daemonsets", "DaemonSet", "dd7pWHUlMKQ=", short=("ds",), all_=True),
        _sub("daemonsets/status", "DaemonSet", STATUS),
        _stored("deployments", "Deployment", "8aSe+NMegvE=", short=("deploy",), all_=True),
        _sub("deployments/scale", "", [], other=SCALE),
        _sub("deployments/status", "Deployment", STATUS),
        _stored("replicasets", "ReplicaSet", "P1RzHs8/mWQ=", short=("rs",), all_=True),
        _sub("replicasets/scale", "", [], other=SCALE),
        _sub("replicasets/status", "ReplicaSet", STATUS),
        _stored("statefulsets", "StatefulSet", "H+vl74LkKdo=", short=("sts",), all_=True),
        _sub("statefulsets/scale", "", [], other=SCALE),
        _sub("statefulsets/status", "StatefulSet", STATUS),
    ],
    "authentication.k8s.io/v1": [
        _virtual("selfsubjectreviews", "SelfSubjectReview"),
        _virtual("tokenreviews", "TokenReview"),
    ],
    "authorization.k8s.io/v1": [
        _virtual("localsubjectaccessreviews", "LocalSubjectAccessReview", namespaced=True),
        _virtual("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
        _virtual("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
        _virtual("subjectaccessreviews", "SubjectAccessReview"),
    ],
    "autoscaling/v1": [
        _stored("horizontalpodautoscalers", "HorizontalPodAutoscaler", "qwQve8ut294=", short=("hpa",), all_=True),
        _sub("horizontalpodautoscalers/status", "HorizontalPodAutoscaler", STATUS),
    ],
    "autoscaling/v2": [
        _stored("horizontalpodautoscalers", "HorizontalPodAutoscaler", "qwQve8ut294=", short=("hpa",), all_=True),
        _sub("horizontalpodautoscalers/status", "HorizontalPodAutoscaler", STATUS),
    ],
    "batch/v1": [
        _stored("cronjobs", "CronJob", "sd5LIXh4Fjs=", short=("cj",), all_=True),
        _sub("cronjobs/status", "CronJob", STATUS),
        _stored("jobs", "Job", "mudhfqk/qZY=", all_=True),
        _sub("jobs/status", "Job", STATUS),
    ],
    "coordination.k8s.io/v1": [_stored("leases", "Lease", "gqkMMb/YqFM=")],
    "discovery.k8s.io/v1": [_stored("endpointslices", "EndpointSlice", "qgS0xkrxYAI=")],
    "apiextensions.k8s.io/v1": [
        _stored("customresourcedefinitions", "CustomResourceDefinition", "M5uH+AlWATY=",
                namespaced=False, short=("crd", "crds"), categories=("api-extensions",)),
        _sub("customresourcedefinitions/status", "CustomResourceDefinition", STATUS, namespaced=False),
    ],
    "events.k8s.io/v1": [_stored("events", "Event", "r2yiGXH7wu8=", short=("ev",))],
    "networking.k8s.io/v1": [
        _stored("ingressclasses", "IngressClass", "l/iqIbDgFyQ=", namespaced=False),
        _stored("ingresses", "Ingress", "39NQlfNR+bo=", short=("ing",)),
        _sub("ingresses/status", "Ingress", STATUS),
        _stored("networkpolicies", "NetworkPolicy", "YpfwF18m1G8=", short=("netpol",)),
    ],
    "policy/v1": [
        _stored("poddisruptionbudgets", "PodDisruptionBudget", "EVWiDmWqyJw=", short=("pdb",)),
        _sub("poddisruptionbudgets/status", "PodDisruptionBudget", STATUS),
    ],
    "rbac.authorization.k8s.io/v1": [
        _stored("clusterrolebindings", "ClusterRoleBinding", "48tpQ8gZHFc=", namespaced=False),
        _stored("clusterroles", "ClusterRole", "bYE5ZWDrJ44=", namespaced=False),
        _stored("rolebindings", "RoleBinding", "eGsCzGH6b1g="),
        _stored("roles", "Role", "7FuwZcIIItM="),
    ],
    "scheduling.k8s.io/v1": [
        _stored("priorityclasses", "PriorityClass", "1QwjyaZjj3Y=", namespaced=False, short=("pc",)),
    ],
    "storage.k8s.io/v1": [
        _stored("csidrivers", "CSIDriver", "hL6j/rwBV5w=", namespaced=False),
        _stored("csinodes", "CSINode", "Pe62DkZtjuo=", namespaced=False),
        _stored("storageclasses", "StorageClass", "K+m6uJwbjGY=", namespaced=False, short=("sc",)),
        _stored("volumeattachments", "VolumeAttachment", "tJx/ezt6UDU=", namespaced=False),
        _sub("volumeattachments/status", "VolumeAttachment", STATUS, namespaced=False),
    ],
}


def expected(group_version: str, name: str) -> dict[str, Any] | None:
    """kube-apiserver 1.32's APIResource for NAME in GROUP_VERSION, or None if unknown here."""
    return next((r for r in RESOURCES.get(group_version, []) if r["name"] == name), None)
