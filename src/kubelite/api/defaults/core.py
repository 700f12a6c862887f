"""Defaulting of core kinds other than Pod (pkg/apis/core/v1/defaults.go)."""

from __future__ import annotations

from kubelite.api.defaults.quantities import canonical_resource_list
from kubelite.api.priority import PREEMPT_LOWER_PRIORITY
from kubelite.api.types import core_v1, discovery_v1, scheduling_v1, storage_v1

CLIENT_IP_TIMEOUT = 10800


def default_service(svc: core_v1.Service) -> None:
    if svc.spec is None:
        svc.spec = core_v1.ServiceSpec()
    spec = svc.spec
    if not spec.session_affinity:
        spec.session_affinity = "None"
    if spec.session_affinity == "None":
        spec.session_affinity_config = None
    elif spec.session_affinity == "ClientIP":
        cfg = spec.session_affinity_config
        if cfg is None or cfg.client_ip is None or cfg.client_ip.timeout_seconds is None:
            spec.session_affinity_config = core_v1.SessionAffinityConfig(
                client_ip=core_v1.ClientIPConfig(timeout_seconds=CLIENT_IP_TIMEOUT))
    if not spec.type:
        spec.type = "ClusterIP"
    for port in spec.ports or []:
        if not port.protocol:
            port.protocol = "TCP"
        if port.target_port in (None, 0, ""):
            port.target_port = port.port
    externally_accessible = spec.type in ("LoadBalancer", "NodePort") or (
        spec.type == "ClusterIP" and bool(spec.external_ips))
    if externally_accessible and not spec.external_traffic_policy:
        spec.external_traffic_policy = "Cluster"
    if spec.internal_traffic_policy is None and spec.type in ("ClusterIP", "NodePort",
                                                              "LoadBalancer"):
        spec.internal_traffic_policy = "Cluster"
    if spec.type == "LoadBalancer" and spec.allocate_load_balancer_node_ports is None:
        spec.allocate_load_balancer_node_ports = True


def default_endpoints(ep: core_v1.Endpoints) -> None:
    for subset in ep.subsets or []:
        for port in subset.ports or []:
            if not port.protocol:
                port.protocol = "TCP"


def default_endpoint_slice(es: discovery_v1.EndpointSlice) -> None:
    for port in es.ports or []:
        if port.name is None:
            port.name = ""
        if port.protocol is None:
            port.protocol = "TCP"


def default_namespace(ns: core_v1.Namespace) -> None:
    """Phase Active and the kubernetes.io/metadata.name label that names it."""
    if ns.status is None:
        ns.status = core_v1.NamespaceStatus()
    if not ns.status.phase:
        ns.status.phase = "Active"
    if ns.metadata is not None and ns.metadata.name:
        labels = dict(ns.metadata.labels or {})
        labels["kubernetes.io/metadata.name"] = ns.metadata.name
        ns.metadata.labels = labels


def default_node(node: core_v1.Node) -> None:
    status = node.status
    if status is None:
        return
    canonical_resource_list(status.capacity)
    if status.allocatable is None and status.capacity is not None:
        status.allocatable = dict(status.capacity)
    canonical_resource_list(status.allocatable)


def default_secret(secret: core_v1.Secret) -> None:
    if not secret.type:
        secret.type = "Opaque"


def default_persistent_volume(pv: core_v1.PersistentVolume) -> None:
    if pv.spec is None:
        pv.spec = core_v1.PersistentVolumeSpec()
    if not pv.spec.persistent_volume_reclaim_policy:
        pv.spec.persistent_volume_reclaim_policy = "Retain"
    if pv.spec.volume_mode is None:
        pv.spec.volume_mode = "Filesystem"
    if pv.spec.host_path is not None and pv.spec.host_path.type is None:
        pv.spec.host_path.type = ""
    canonical_resource_list(pv.spec.capacity)
    if pv.status is None:
        pv.status = core_v1.PersistentVolumeStatus()
    if not pv.status.phase:
        pv.status.phase = "Pending"


def default_persistent_volume_claim(pvc: core_v1.PersistentVolumeClaim) -> None:
    if pvc.spec is None:
        pvc.spec = core_v1.PersistentVolumeClaimSpec()
    if pvc.spec.volume_mode is None:
        pvc.spec.volume_mode = "Filesystem"
    if pvc.spec.resources is not None:
        canonical_resource_list(pvc.spec.resources.requests)
        canonical_resource_list(pvc.spec.resources.limits)
    if pvc.status is None:
        pvc.status = core_v1.PersistentVolumeClaimStatus()
    if not pvc.status.phase:
        pvc.status.phase = "Pending"
    canonical_resource_list(pvc.status.capacity)


def default_resource_quota(quota: core_v1.ResourceQuota) -> None:
    if quota.spec is not None:
        canonical_resource_list(quota.spec.hard)
    if quota.status is not None:
        canonical_resource_list(quota.status.hard)
        canonical_resource_list(quota.status.used)


def default_limit_range(lr: core_v1.LimitRange) -> None:
    """Container limits: default limit from max, default request from default or min."""
    for item in lr.spec.limits if lr.spec else []:
        for values in (item.max, item.min, item.default, item.default_request,
                       item.max_limit_request_ratio):
            canonical_resource_list(values)
        if item.type != "Container":
            continue
        default = dict(item.default or {})
        for k, v in (item.max or {}).items():
            default.setdefault(k, v)
        request = dict(item.default_request or {})
        for k, v in default.items():
            request.setdefault(k, v)
        for k, v in (item.min or {}).items():
            request.setdefault(k, v)
        item.default = default or item.default
        item.default_request = request or item.default_request


def default_storage_class(sc: storage_v1.StorageClass) -> None:
    if not sc.reclaim_policy:
        sc.reclaim_policy = "Delete"
    if not sc.volume_binding_mode:
        sc.volume_binding_mode = "Immediate"


def default_priority_class(pc: scheduling_v1.PriorityClass) -> None:
    """SetDefaults_PriorityClass (pkg/apis/scheduling/v1/defaults.go)."""
    if pc.preemption_policy is None:
        pc.preemption_policy = PREEMPT_LOWER_PRIORITY
