"""Kubernetes' defaulting: the fields the API server fills in when a client leaves them out.

`apply_defaults(obj)` defaults any object in place by its type. Pod admission defaults
(service account, default tolerations, priority) are separate, in `admit_pod`, because
Kubernetes applies them only when a pod is created.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from kubelite.api.defaults.apps import (
    default_daemon_set,
    default_deployment,
    default_pod_template,
    default_replica_set,
    default_replication_controller,
    default_stateful_set,
)
from kubelite.api.defaults.autoscaling import default_hpa
from kubelite.api.defaults.batch import default_cron_job, default_job
from kubelite.api.defaults.core import (
    default_endpoint_slice,
    default_endpoints,
    default_limit_range,
    default_namespace,
    default_node,
    default_persistent_volume,
    default_persistent_volume_claim,
    default_priority_class,
    default_resource_quota,
    default_secret,
    default_service,
    default_storage_class,
)
from kubelite.api.defaults.networking import default_ingress_class, default_network_policy
from kubelite.api.defaults.pod import admit_pod, default_pod, default_pod_spec
from kubelite.api.defaults.qos import pod_qos_class
from kubelite.api.defaults.quantities import canonical_resource_list, canonical_value
from kubelite.api.defaults.rbac import default_binding
from kubelite.api.types import (
    apps_v1,
    autoscaling_v2,
    batch_v1,
    core_v1,
    discovery_v1,
    networking_v1,
    rbac_v1,
    scheduling_v1,
    storage_v1,
)

DEFAULTERS: dict[type[msgspec.Struct], Callable[[Any], None]] = {
    core_v1.Pod: default_pod,
    core_v1.Service: default_service,
    core_v1.Endpoints: default_endpoints,
    core_v1.Namespace: default_namespace,
    core_v1.Node: default_node,
    core_v1.Secret: default_secret,
    core_v1.PersistentVolume: default_persistent_volume,
    core_v1.PersistentVolumeClaim: default_persistent_volume_claim,
    core_v1.ResourceQuota: default_resource_quota,
    core_v1.LimitRange: default_limit_range,
    apps_v1.Deployment: default_deployment,
    apps_v1.ReplicaSet: default_replica_set,
    apps_v1.StatefulSet: default_stateful_set,
    apps_v1.DaemonSet: default_daemon_set,
    core_v1.ReplicationController: default_replication_controller,
    core_v1.PodTemplate: default_pod_template,
    autoscaling_v2.HorizontalPodAutoscaler: default_hpa,
    batch_v1.Job: default_job,
    batch_v1.CronJob: default_cron_job,
    rbac_v1.RoleBinding: default_binding,
    rbac_v1.ClusterRoleBinding: default_binding,
    discovery_v1.EndpointSlice: default_endpoint_slice,
    storage_v1.StorageClass: default_storage_class,
    scheduling_v1.PriorityClass: default_priority_class,
    networking_v1.IngressClass: default_ingress_class,
    networking_v1.NetworkPolicy: default_network_policy,
}


def apply_defaults(obj: msgspec.Struct) -> None:
    """Default `obj` in place; kinds without defaults are left as they are."""
    fn = DEFAULTERS.get(type(obj))
    if fn is not None:
        fn(obj)


__all__ = ["DEFAULTERS", "admit_pod", "apply_defaults", "canonical_resource_list",
           "canonical_value", "default_pod", "default_pod_spec", "pod_qos_class"]
