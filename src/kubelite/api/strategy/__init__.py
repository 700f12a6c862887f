"""Per-kind strategies: `strategy_for(kind)` gives the one for any kind in the registry, and
`status_strategy_for(kind)` the one for writes to its `/status` subresource."""

from __future__ import annotations

from functools import cache, lru_cache

from kubelite.api.registry import KINDS, Kind
from kubelite.api.strategy.apiextensions import (
    CustomResourceDefinitionStatusStrategy,
    CustomResourceDefinitionStrategy,
)
from kubelite.api.strategy.base import Strategy, UpdateValidator, Validator
from kubelite.api.strategy.kinds import (
    CronJobStrategy,
    DaemonSetStrategy,
    DeploymentStrategy,
    GenerationStrategy,
    HorizontalPodAutoscalerStrategy,
    IngressStrategy,
    JobStrategy,
    NamespaceStrategy,
    NodeStrategy,
    PersistentVolumeClaimStrategy,
    PersistentVolumeStrategy,
    PodDisruptionBudgetStrategy,
    PodStrategy,
    ReplicaSetStrategy,
    ReplicationControllerStrategy,
    ResourceQuotaStrategy,
    SecretStrategy,
    ServiceStrategy,
    StatefulSetStrategy,
)
from kubelite.api.strategy.status import (
    LabelKeepingStatusStrategy,
    NamespaceFinalizeStrategy,
    PodEphemeralContainersStrategy,
    PodStatusStrategy,
    ServiceStatusStrategy,
    StatusStrategy,
    StatusValidator,
)
from kubelite.api.validation import (
    apps,
    autoscaling,
    batch,
    core,
    daemonset,
    networking,
    other,
    pod,
    priority_class,
    rbac,
    replication,
    service,
    statefulset,
    storage,
)

# kind name -> (strategy class, validator, update validator)
_TABLE: dict[str, tuple[type[Strategy], Validator | None, UpdateValidator | None]] = {
    "Pod": (PodStrategy, pod.validate_pod, None),
    "Namespace": (NamespaceStrategy, core.validate_namespace, None),
    "Node": (NodeStrategy, core.validate_node, core.validate_node_update),
    "ConfigMap": (Strategy, core.validate_config_map, core.validate_config_map_update),
    "Secret": (SecretStrategy, core.validate_secret, core.validate_secret_update),
    "ServiceAccount": (Strategy, core.validate_service_account, None),
    "Event": (Strategy, core.validate_event, None),
    "ResourceQuota": (ResourceQuotaStrategy, core.validate_resource_quota, None),
    "LimitRange": (Strategy, core.validate_limit_range, None),
    "Service": (ServiceStrategy, service.validate_service, service.validate_service_update),
    "Endpoints": (Strategy, service.validate_endpoints, None),
    "EndpointSlice": (Strategy, service.validate_endpoint_slice, None),
    "PersistentVolume": (PersistentVolumeStrategy, storage.validate_persistent_volume,
                         storage.validate_persistent_volume_update),
    "PersistentVolumeClaim": (PersistentVolumeClaimStrategy,
                              storage.validate_persistent_volume_claim,
                              storage.validate_persistent_volume_claim_update),
    "StorageClass": (Strategy, storage.validate_storage_class,
                     storage.validate_storage_class_update),
    "Deployment": (DeploymentStrategy, apps.validate_deployment, apps.validate_deployment_update),
    "ReplicaSet": (ReplicaSetStrategy, apps.validate_replica_set, apps.validate_replica_set_update),
    "Role": (Strategy, rbac.validate_role, None),
    "ClusterRole": (Strategy, rbac.validate_cluster_role, None),
    "RoleBinding": (Strategy, rbac.validate_role_binding, rbac.validate_role_binding_update),
    "ClusterRoleBinding": (Strategy, rbac.validate_cluster_role_binding,
                           rbac.validate_cluster_role_binding_update),
    "Job": (JobStrategy, batch.validate_job, batch.validate_job_update),
    "CronJob": (CronJobStrategy, batch.validate_cron_job, batch.validate_cron_job_update),
    "StatefulSet": (StatefulSetStrategy, statefulset.validate_stateful_set,
                    statefulset.validate_stateful_set_update),
    "ControllerRevision": (Strategy, statefulset.validate_controller_revision,
                           statefulset.validate_controller_revision_update),
    "DaemonSet": (DaemonSetStrategy, daemonset.validate_daemon_set,
                  daemonset.validate_daemon_set_update),
    "ReplicationController": (ReplicationControllerStrategy,
                              replication.validate_replication_controller,
                              replication.validate_replication_controller_update),
    "PodTemplate": (Strategy, replication.validate_pod_template_object,
                    replication.validate_pod_template_update),
    "PodDisruptionBudget": (PodDisruptionBudgetStrategy, other.validate_pod_disruption_budget, None),
    "HorizontalPodAutoscaler": (HorizontalPodAutoscalerStrategy, autoscaling.validate_hpa,
                                autoscaling.validate_hpa_update),
    "Lease": (Strategy, other.validate_lease, None),
    "PriorityClass": (Strategy, priority_class.validate_priority_class,
                      priority_class.validate_priority_class_update),
    "Binding": (Strategy, other.validate_binding, None),
    "Ingress": (IngressStrategy, networking.validate_ingress, networking.validate_ingress_update),
    "IngressClass": (GenerationStrategy, networking.validate_ingress_class,
                     networking.validate_ingress_class_update),
    "NetworkPolicy": (GenerationStrategy, networking.validate_network_policy,
                      networking.validate_network_policy_update),
    "SelfSubjectAccessReview": (Strategy, lambda obj: [], None),
    "CustomResourceDefinition": (CustomResourceDefinitionStrategy, None, None),
}

# kind name -> (status strategy class, ValidateXStatusUpdate), for kinds with /status
_STATUS_TABLE: dict[str, tuple[type[StatusStrategy], StatusValidator | None]] = {
    "Pod": (PodStatusStrategy, pod.validate_pod_status_update),
    "Node": (StatusStrategy, core.validate_node_status_update),
    "Namespace": (StatusStrategy, core.validate_namespace_status_update),
    "ResourceQuota": (StatusStrategy, core.validate_resource_quota_status_update),
    "Service": (ServiceStatusStrategy, service.validate_service_status_update),
    "PersistentVolume": (StatusStrategy, None),
    "PersistentVolumeClaim": (StatusStrategy,
                              storage.validate_persistent_volume_claim_status_update),
    "Deployment": (LabelKeepingStatusStrategy, apps.validate_deployment_status_update),
    "ReplicaSet": (LabelKeepingStatusStrategy, apps.validate_replica_set_status_update),
    "StatefulSet": (LabelKeepingStatusStrategy, statefulset.validate_stateful_set_status_update),
    "PodDisruptionBudget": (StatusStrategy, other.validate_pod_disruption_budget_status_update),
    "DaemonSet": (LabelKeepingStatusStrategy, daemonset.validate_daemon_set_status_update),
    "ReplicationController": (StatusStrategy,
                              replication.validate_replication_controller_status_update),
    "Job": (StatusStrategy, batch.validate_job_status_update),
    "CronJob": (StatusStrategy, batch.validate_cron_job_status_update),
    "HorizontalPodAutoscaler": (StatusStrategy, autoscaling.validate_hpa_status_update),
    "Ingress": (StatusStrategy, networking.validate_ingress_status_update),
    "CustomResourceDefinition": (CustomResourceDefinitionStatusStrategy, None),
}


# Kubernetes' per-kind store options (pkg/registry/*/storage/storage.go): DELETE answers
# with the object itself for these (ReturnDeletedObject), a Success Status for the others.
_RETURNS_DELETED_OBJECT = frozenset({
    "Pod", "Service", "ServiceAccount", "Namespace", "PersistentVolume",
    "PersistentVolumeClaim", "ResourceQuota", "StorageClass",
})
# ...and these refuse an update without a resourceVersion (AllowUnconditionalUpdate false).
_CONDITIONAL_UPDATE_ONLY = frozenset({"Lease", "PodDisruptionBudget"})
# ...and these are created by a PUT when they do not exist yet (AllowCreateOnUpdate).
_CREATE_ON_UPDATE = frozenset({"Service", "Endpoints", "Event", "LimitRange", "Lease"})
# Kinds that are never stored: a POST of one is answered by a handler of its own.
_SERVED_BY = {"Binding": "binding", "SelfSubjectAccessReview": "access-review",
              "SubjectAccessReview": "access-review", "LocalSubjectAccessReview": "access-review",
              "SelfSubjectRulesReview": "access-review"}


@cache
def _for(kind: Kind) -> Strategy:
    cls, validator, update_validator = _TABLE.get(kind.kind, (Strategy, None, None))
    strategy = cls(kind, validator, update_validator)
    strategy.return_deleted_object = kind.kind in _RETURNS_DELETED_OBJECT
    strategy.allow_unconditional_update = kind.kind not in _CONDITIONAL_UPDATE_ONLY
    strategy.allow_create_on_update = kind.kind in _CREATE_ON_UPDATE
    strategy.served_by = _SERVED_BY.get(kind.kind, "")
    return strategy


def strategy_for(kind: Kind) -> Strategy:
    """The strategy of a registry kind (a generic one for kinds without their own)."""
    if kind.custom is not None:
        return _custom_for(kind)
    return _for(kind)


@lru_cache(maxsize=512)
def _custom_for(kind: Kind) -> Strategy:
    from kubelite.api.crd.strategy import CustomResourceStrategy  # api/crd builds on this package

    return CustomResourceStrategy(kind)


@lru_cache(maxsize=512)
def _custom_status_for(kind: Kind) -> StatusStrategy:
    from kubelite.api.crd.strategy import CustomResourceStatusStrategy

    return CustomResourceStatusStrategy(kind)


def status_strategy_for(kind: Kind) -> StatusStrategy:
    """The strategy of writes to a kind's /status (metadata checks only for kinds without
    their own status validation)."""
    if kind.custom is not None:  # custom kinds come and go: their caches are bounded
        return _custom_status_for(kind)
    return _status_for(kind)


@cache
def _status_for(kind: Kind) -> StatusStrategy:
    cls, validator = _STATUS_TABLE.get(kind.kind, (StatusStrategy, None))
    strategy = cls(kind, validator)
    # a status strategy embeds its kind's: the same update options
    strategy.allow_unconditional_update = strategy_for(kind).allow_unconditional_update
    return strategy


# (kind name, subresource) -> the strategy of writes to a subresource other than /status
_SUBRESOURCE_TABLE: dict[tuple[str, str], tuple[type[StatusStrategy], StatusValidator | None]] = {
    ("Namespace", "finalize"): (NamespaceFinalizeStrategy, None),
    ("Pod", "ephemeralcontainers"): (PodEphemeralContainersStrategy,
                                     pod.validate_pod_ephemeral_containers_update),
}


def write_strategy_for(kind: Kind, subresource: str = "") -> Strategy | StatusStrategy:
    """The strategy a write to `kind` (or to its `subresource`) goes through."""
    if not subresource or kind.custom is not None:  # custom kinds: only /status has its own
        return status_strategy_for(kind) if subresource == "status" else strategy_for(kind)
    return _write_strategy_for(kind, subresource)


@cache
def _write_strategy_for(kind: Kind, subresource: str) -> Strategy | StatusStrategy:
    if not subresource:
        return strategy_for(kind)
    if subresource == "status":
        return status_strategy_for(kind)
    cls, validator = _SUBRESOURCE_TABLE.get((kind.kind, subresource), (StatusStrategy, None))
    strategy = cls(kind, validator)
    strategy.allow_unconditional_update = _for(kind).allow_unconditional_update
    return strategy


def all_strategies() -> dict[str, Strategy]:
    return {k.kind: strategy_for(k) for k in KINDS}


__all__ = ["StatusStrategy", "Strategy", "all_strategies", "status_strategy_for", "strategy_for",
           "write_strategy_for"]
