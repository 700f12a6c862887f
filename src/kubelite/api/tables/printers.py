"""Which printer prints which kind: one line per kind, like Kubernetes' AddHandlers."""

from __future__ import annotations

from kubelite.api.tables import (
    apps,
    autoscaling,
    batch,
    config,
    default,
    events,
    networking,
    nodes,
    pods,
    policy,
    rbac,
    scheduling,
    services,
    storage,
    workloads,
)
from kubelite.api.tables._base import Printer

# (API group, kind) -> printer. Kinds not listed get the apiserver's default table.
PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): pods.PRINTER,
    ("", "Node"): nodes.PRINTER,
    ("", "Namespace"): config.NAMESPACE,
    ("", "ConfigMap"): config.CONFIGMAP,
    ("", "Secret"): config.SECRET,
    ("", "ServiceAccount"): config.SERVICE_ACCOUNT,
    ("", "Service"): services.SERVICE,
    ("", "Endpoints"): services.ENDPOINTS,
    ("", "Event"): events.PRINTER,
    ("", "PersistentVolume"): storage.PV,
    ("", "PersistentVolumeClaim"): storage.PVC,
    ("", "ResourceQuota"): policy.RESOURCE_QUOTA,
    ("apps", "Deployment"): apps.DEPLOYMENT,
    ("apps", "ReplicaSet"): apps.REPLICASET,
    ("apps", "StatefulSet"): apps.STATEFULSET,
    ("apps", "ControllerRevision"): apps.CONTROLLER_REVISION,
    ("apps", "DaemonSet"): workloads.DAEMONSET,
    ("", "ReplicationController"): workloads.REPLICATION_CONTROLLER,
    ("", "PodTemplate"): workloads.POD_TEMPLATE,
    ("autoscaling", "HorizontalPodAutoscaler"): autoscaling.HPA,
    ("batch", "Job"): batch.JOB,
    ("rbac.authorization.k8s.io", "Role"): rbac.ROLE,
    ("rbac.authorization.k8s.io", "ClusterRole"): rbac.ROLE,
    ("rbac.authorization.k8s.io", "RoleBinding"): rbac.BINDING,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): rbac.BINDING,
    ("batch", "CronJob"): batch.CRONJOB,
    ("coordination.k8s.io", "Lease"): config.LEASE,
    ("discovery.k8s.io", "EndpointSlice"): services.ENDPOINT_SLICE_PRINTER,
    ("storage.k8s.io", "StorageClass"): storage.STORAGE_CLASS_PRINTER,
    ("policy", "PodDisruptionBudget"): policy.PDB,
    ("scheduling.k8s.io", "PriorityClass"): scheduling.PRIORITY_CLASS_PRINTER,
    ("networking.k8s.io", "Ingress"): networking.INGRESS,
    ("networking.k8s.io", "IngressClass"): networking.INGRESS_CLASS,
    ("networking.k8s.io", "NetworkPolicy"): networking.NETWORK_POLICY,
}

DEFAULT = default.PRINTER


def printer_for(group: str, kind: str) -> Printer:
    return PRINTERS.get((group, kind), DEFAULT)
