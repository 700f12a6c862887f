"""The kind registry: every kind kubelite serves, described once.

Discovery, routing, OpenAPI, tables and validation are derived from these entries,
never restated per handler. Adding a kind means adding its `Kind` here (and a
strategy in `api/strategy` if it needs defaulting or validation beyond the schema).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from kubelite.api.storage_version import storage_version_hash
from kubelite.api.types import (  # noqa: I001
    apiextensions_v1,
    apps_v1,
    authentication_v1,
    authorization_v1,
    autoscaling_v1,
    autoscaling_v2,
    batch_v1,
    coordination_v1,
    core_v1,
    discovery_v1,
    events_v1,
    networking_v1,
    policy_v1,
    rbac_v1,
    scheduling_v1,
    storage_v1,
)

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Subresource:
    """A subresource such as pods/status or deployments/scale, as discovery lists it."""

    name: str
    verbs: tuple[str, ...]
    # The kind the subresource speaks when it differs from the parent's (group, version, kind).
    kind: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class Kind:
    """One resource type: its names, scope, verbs and the msgspec type of its objects."""

    group: str
    version: str
    kind: str
    plural: str
    type: type[msgspec.Struct]
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()
    # Fields besides metadata.name/namespace that list and watch may select on.
    field_selectors: tuple[str, ...] = ()
    definition: str = field(default="")
    # (group, version, plural) of the kind whose objects this one is a view of, converted
    # by api/conversion (events.k8s.io/v1 Events are core/v1 Events in the store)
    stored_as: tuple[str, str, str] | None = None
    # What a CustomResourceDefinition says of a kind it defines (api/crd/kinds.py
    # CustomInfo: schema, printer columns, scale paths...); None for built-in kinds.
    custom: Any = None

    @property
    def singular(self) -> str:
        if self.custom is not None:
            return str(self.custom.singular)
        return self.kind.lower()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def resource(self) -> str:
        return self.plural

    @property
    def storage_version_hash(self) -> str:
        """Discovery's `storageVersionHash`; "" for kinds never stored (a review or a
        binding can only be created, never read back), as kube-apiserver leaves it out."""
        if "get" not in self.verbs:
            return ""
        if self.custom is not None:  # every version is stored as the CRD's storage version
            return storage_version_hash(self.group, self.custom.storage_version, self.kind)
        if self.stored_as is None:
            return storage_version_hash(self.group, self.version, self.kind)
        stored = by_resource(*self.stored_as)
        assert stored is not None, f"{self.kind} is stored as an unknown resource {self.stored_as}"
        return stored.storage_version_hash

    def has_subresource(self, name: str) -> bool:
        return any(s.name == name for s in self.subresources)

    def url_prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


def _definition(group: str, version: str, kind: str) -> str:
    if group == "apiextensions.k8s.io":
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}.{kind}"
    package = {
        "": "core",
        "apps": "apps",
        "coordination.k8s.io": "coordination",
        "discovery.k8s.io": "discovery",
        "events.k8s.io": "events",
        "networking.k8s.io": "networking",
        "storage.k8s.io": "storage",
        "authentication.k8s.io": "authentication",
        "authorization.k8s.io": "authorization",
        "policy": "policy",
        "rbac.authorization.k8s.io": "rbac",
        "scheduling.k8s.io": "scheduling",
        "autoscaling": "autoscaling",
        "batch": "batch",
    }[group]
    return f"io.k8s.api.{package}.{version}.{kind}"


STATUS = Subresource("status", ("get", "patch", "update"))
SCALE = Subresource("scale", ("get", "patch", "update"), ("autoscaling", "v1", "Scale"))
READ_ONLY = ("get", "list", "watch")
CREATE_ONLY = ("create",)


def _kind(group: str, version: str, kind: str, plural: str, type_: type[msgspec.Struct], **kw: object) -> Kind:
    return Kind(group, version, kind, plural, type_, definition=_definition(group, version, kind), **kw)  # type: ignore[arg-type]


KINDS: tuple[Kind, ...] = (
    _kind("", "v1", "Namespace", "namespaces", core_v1.Namespace, namespaced=False,
          short_names=("ns",), verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
          subresources=(STATUS, Subresource("finalize", ("update",))),
          field_selectors=("status.phase",)),
    _kind("", "v1", "Pod", "pods", core_v1.Pod, short_names=("po",), categories=("all",),
          subresources=(
              STATUS,
              Subresource("binding", CREATE_ONLY, ("", "v1", "Binding")),
              Subresource("eviction", CREATE_ONLY, ("policy", "v1", "Eviction")),
              Subresource("log", ("get",)),
              Subresource("exec", ("create", "get")),
              Subresource("attach", ("create", "get")),
              Subresource("portforward", ("create", "get")),
              Subresource("proxy", ("create", "delete", "get", "patch", "update")),
              Subresource("ephemeralcontainers", ("get", "patch", "update")),
          ),
          field_selectors=("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                           "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                           "status.podIP", "status.nominatedNodeName")),
    _kind("", "v1", "Binding", "bindings", core_v1.Binding, verbs=CREATE_ONLY),
    _kind("", "v1", "Node", "nodes", core_v1.Node, namespaced=False, short_names=("no",),
          subresources=(STATUS, Subresource("proxy", ("create", "delete", "get", "patch", "update"))),
          field_selectors=("spec.unschedulable",)),
    _kind("", "v1", "Event", "events", core_v1.Event, short_names=("ev",),
          field_selectors=("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                           "involvedObject.uid", "involvedObject.apiVersion",
                           "involvedObject.resourceVersion", "involvedObject.fieldPath",
                           "reason", "reportingComponent", "source", "type")),
    _kind("", "v1", "ConfigMap", "configmaps", core_v1.ConfigMap, short_names=("cm",)),
    _kind("", "v1", "Secret", "secrets", core_v1.Secret, field_selectors=("type",)),
    _kind("", "v1", "Service", "services", core_v1.Service, short_names=("svc",),
          categories=("all",), subresources=(STATUS, Subresource("proxy", ("create", "delete", "get", "patch", "update"))),
          verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
          field_selectors=("spec.clusterIP", "spec.type")),
    _kind("", "v1", "Endpoints", "endpoints", core_v1.Endpoints, short_names=("ep",)),
    _kind("", "v1", "ServiceAccount", "serviceaccounts", core_v1.ServiceAccount, short_names=("sa",),
          subresources=(Subresource("token", CREATE_ONLY,
                                    ("authentication.k8s.io", "v1", "TokenRequest")),)),
    _kind("", "v1", "PersistentVolume", "persistentvolumes", core_v1.PersistentVolume,
          namespaced=False, short_names=("pv",), subresources=(STATUS,)),
    _kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", core_v1.PersistentVolumeClaim,
          short_names=("pvc",), subresources=(STATUS,)),
    _kind("", "v1", "ResourceQuota", "resourcequotas", core_v1.ResourceQuota,
          short_names=("quota",), subresources=(STATUS,)),
    _kind("", "v1", "LimitRange", "limitranges", core_v1.LimitRange, short_names=("limits",)),
    _kind("", "v1", "ReplicationController", "replicationcontrollers", core_v1.ReplicationController,
          short_names=("rc",), categories=("all",), subresources=(STATUS, SCALE),
          field_selectors=("status.replicas",)),
    _kind("", "v1", "PodTemplate", "podtemplates", core_v1.PodTemplate),
    _kind("apps", "v1", "Deployment", "deployments", apps_v1.Deployment, short_names=("deploy",),
          categories=("all",), subresources=(STATUS, SCALE)),
    _kind("apps", "v1", "ReplicaSet", "replicasets", apps_v1.ReplicaSet, short_names=("rs",),
          categories=("all",), subresources=(STATUS, SCALE), field_selectors=("status.replicas",)),
    _kind("apps", "v1", "StatefulSet", "statefulsets", apps_v1.StatefulSet, short_names=("sts",),
          categories=("all",), subresources=(STATUS, SCALE)),
    _kind("apps", "v1", "DaemonSet", "daemonsets", apps_v1.DaemonSet, short_names=("ds",),
          categories=("all",), subresources=(STATUS,)),
    _kind("apps", "v1", "ControllerRevision", "controllerrevisions", apps_v1.ControllerRevision),
    # autoscaling/v2 is stored (and preferred: listed first); v1 is a view converted from it
    _kind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
          autoscaling_v2.HorizontalPodAutoscaler, short_names=("hpa",), categories=("all",),
          subresources=(STATUS,)),
    _kind("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
          autoscaling_v1.HorizontalPodAutoscaler, short_names=("hpa",), categories=("all",),
          stored_as=("autoscaling", "v2", "horizontalpodautoscalers")),
    _kind("batch", "v1", "Job", "jobs", batch_v1.Job, categories=("all",), subresources=(STATUS,)),
    _kind("batch", "v1", "CronJob", "cronjobs", batch_v1.CronJob, short_names=("cj",),
          categories=("all",), subresources=(STATUS,)),
    _kind("coordination.k8s.io", "v1", "Lease", "leases", coordination_v1.Lease),
    _kind("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", discovery_v1.EndpointSlice),
    _kind("events.k8s.io", "v1", "Event", "events", events_v1.Event, short_names=("ev",),
          stored_as=("", "v1", "events"),
          field_selectors=("regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                           "regarding.apiVersion", "regarding.resourceVersion",
                           "regarding.fieldPath", "reason", "reportingController",
                           "deprecatedSource", "type")),
    _kind("storage.k8s.io", "v1", "StorageClass", "storageclasses", storage_v1.StorageClass,
          namespaced=False, short_names=("sc",)),
    # Reviews are answered, never stored (apiserver/tokenreview.py, apiserver/whoami.py).
    _kind("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", authentication_v1.TokenReview,
          namespaced=False, verbs=CREATE_ONLY),
    _kind("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews",
          authentication_v1.SelfSubjectReview, namespaced=False, verbs=CREATE_ONLY),
    _kind("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
          authorization_v1.SelfSubjectAccessReview, namespaced=False, verbs=CREATE_ONLY),
    _kind("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
          authorization_v1.SelfSubjectRulesReview, namespaced=False, verbs=CREATE_ONLY),
    _kind("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews",
          authorization_v1.SubjectAccessReview, namespaced=False, verbs=CREATE_ONLY),
    _kind("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
          authorization_v1.LocalSubjectAccessReview, verbs=CREATE_ONLY),
    _kind("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", rbac_v1.ClusterRole,
          namespaced=False),
    _kind("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
          rbac_v1.ClusterRoleBinding, namespaced=False),
    _kind("rbac.authorization.k8s.io", "v1", "Role", "roles", rbac_v1.Role),
    _kind("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", rbac_v1.RoleBinding),
    _kind("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", policy_v1.PodDisruptionBudget,
          short_names=("pdb",), subresources=(STATUS,)),
    _kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
          apiextensions_v1.CustomResourceDefinition, namespaced=False, short_names=("crd", "crds"),
          categories=("api-extensions",), subresources=(STATUS,)),
    _kind("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", scheduling_v1.PriorityClass,
          namespaced=False, short_names=("pc",)),
    # Stored only: no ingress controller acts on them yet.
    _kind("networking.k8s.io", "v1", "IngressClass", "ingressclasses", networking_v1.IngressClass,
          namespaced=False),
    _kind("networking.k8s.io", "v1", "Ingress", "ingresses", networking_v1.Ingress,
          short_names=("ing",), subresources=(STATUS,)),
    # Enforced by every agent's network/policy/ with nftables.
    _kind("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", networking_v1.NetworkPolicy,
          short_names=("netpol",)),
)

# Kinds that live only behind a subresource or inside a request body.
SUBRESOURCE_TYPES: dict[tuple[str, str, str], str] = {
    ("autoscaling", "v1", "Scale"): "io.k8s.api.autoscaling.v1.Scale",
    ("policy", "v1", "Eviction"): "io.k8s.api.policy.v1.Eviction",
    ("", "v1", "Binding"): "io.k8s.api.core.v1.Binding",
    ("authentication.k8s.io", "v1", "TokenRequest"): "io.k8s.api.authentication.v1.TokenRequest",
}

_BY_RESOURCE = {(k.group, k.version, k.plural): k for k in KINDS}
_BY_KIND = {(k.group, k.version, k.kind): k for k in KINDS}


@dataclass(frozen=True)
class _Served:
    """Every kind served at one moment: the built-in ones, then those of Established CRDs."""

    kinds: tuple[Kind, ...]
    by_resource: dict[tuple[str, str, str], Kind]
    by_kind: dict[tuple[str, str, str], Kind]
    generation: int


# Replaced whole, never changed in place: a request reads one consistent set, whatever
# CustomResourceDefinitions come and go while it runs.
_served = _Served(KINDS, _BY_RESOURCE, _BY_KIND, 0)


def set_custom_kinds(custom: Iterable[Kind]) -> None:
    """Serve exactly `custom` beside the built-in kinds (apiserver/customresources.py calls
    this whenever a CustomResourceDefinition is established, changed or removed). A custom
    kind never shadows a built-in one."""
    global _served
    extra = tuple(k for k in custom if (k.group, k.version, k.plural) not in _BY_RESOURCE)
    if extra == _served.kinds[len(KINDS):]:
        return
    kinds = KINDS + extra
    _served = _Served(
        kinds,
        {**{(k.group, k.version, k.plural): k for k in extra}, **_BY_RESOURCE},
        {**{(k.group, k.version, k.kind): k for k in extra}, **_BY_KIND},
        _served.generation + 1,
    )


def served_kinds() -> tuple[Kind, ...]:
    """Built-in kinds, then custom ones: what discovery, OpenAPI and routing offer now."""
    return _served.kinds


def served_generation() -> int:
    """A number that changes whenever the served kinds do (for caches of derived documents)."""
    return _served.generation


def by_resource(group: str, version: str, plural: str) -> Kind | None:
    """The kind served at /api(s)/GROUP/VERSION/PLURAL, or None."""
    return _served.by_resource.get((group, version, plural))


def by_kind(group: str, version: str, kind: str) -> Kind | None:
    return _served.by_kind.get((group, version, kind))


def by_api_version(api_version: str, kind: str) -> Kind | None:
    group, _, version = api_version.rpartition("/")
    return by_kind(group, version, kind)


def group_versions() -> list[tuple[str, str]]:
    """(group, version) pairs in discovery order, core first, custom groups last."""
    seen: dict[tuple[str, str], None] = {}
    for k in _served.kinds:
        seen.setdefault((k.group, k.version), None)
    return list(seen)
