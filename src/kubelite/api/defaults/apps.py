"""Defaulting of apps/v1 kinds (pkg/apis/apps/v1/defaults.go)."""

from __future__ import annotations

from kubelite.api.defaults.core import default_persistent_volume_claim
from kubelite.api.defaults.pod import default_pod_spec
from kubelite.api.types import apps_v1, core_v1


def _template(template: core_v1.PodTemplateSpec | None) -> None:
    if template is not None and template.spec is not None:
        default_pod_spec(template.spec)


def default_deployment(d: apps_v1.Deployment) -> None:
    spec = d.spec
    if spec is None:
        return
    if spec.replicas is None:
        spec.replicas = 1
    if spec.strategy is None:
        spec.strategy = apps_v1.DeploymentStrategy()
    if not spec.strategy.type:
        spec.strategy.type = "RollingUpdate"
    if spec.strategy.type == "RollingUpdate":
        if spec.strategy.rolling_update is None:
            spec.strategy.rolling_update = apps_v1.RollingUpdateDeployment()
        ru = spec.strategy.rolling_update
        if ru.max_unavailable is None:
            ru.max_unavailable = "25%"
        if ru.max_surge is None:
            ru.max_surge = "25%"
    if spec.revision_history_limit is None:
        spec.revision_history_limit = 10
    if spec.progress_deadline_seconds is None:
        spec.progress_deadline_seconds = 600
    _template(spec.template)


def default_replica_set(rs: apps_v1.ReplicaSet) -> None:
    if rs.spec is None:
        return
    if rs.spec.replicas is None:
        rs.spec.replicas = 1
    _template(rs.spec.template)


def default_stateful_set(sts: apps_v1.StatefulSet) -> None:
    """SetDefaults_StatefulSet (MaxUnavailableStatefulSet is alpha in 1.32: not defaulted)."""
    spec = sts.spec
    if spec is None:
        return
    if not spec.pod_management_policy:
        spec.pod_management_policy = "OrderedReady"
    if spec.update_strategy is None:
        spec.update_strategy = apps_v1.StatefulSetUpdateStrategy()
    strategy = spec.update_strategy
    if not strategy.type:
        strategy.type = "RollingUpdate"
        if strategy.rolling_update is None:
            strategy.rolling_update = apps_v1.RollingUpdateStatefulSetStrategy()
    if strategy.type == "RollingUpdate" and strategy.rolling_update is not None \
            and strategy.rolling_update.partition is None:
        strategy.rolling_update.partition = 0
    if spec.persistent_volume_claim_retention_policy is None:
        spec.persistent_volume_claim_retention_policy = \
            apps_v1.StatefulSetPersistentVolumeClaimRetentionPolicy()
    policy = spec.persistent_volume_claim_retention_policy
    policy.when_deleted = policy.when_deleted or "Retain"
    policy.when_scaled = policy.when_scaled or "Retain"
    if spec.replicas is None:
        spec.replicas = 1
    if spec.revision_history_limit is None:
        spec.revision_history_limit = 10
    for claim in spec.volume_claim_templates or []:
        default_persistent_volume_claim(claim)
    _template(spec.template)


def default_daemon_set(ds: apps_v1.DaemonSet) -> None:
    """SetDefaults_DaemonSet: RollingUpdate with maxUnavailable 1 and maxSurge 0, ten revisions."""
    spec = ds.spec
    if spec is None:
        return
    if spec.update_strategy is None:
        spec.update_strategy = apps_v1.DaemonSetUpdateStrategy()
    strategy = spec.update_strategy
    if not strategy.type:
        strategy.type = "RollingUpdate"
    if strategy.type == "RollingUpdate":
        if strategy.rolling_update is None:
            strategy.rolling_update = apps_v1.RollingUpdateDaemonSet()
        if strategy.rolling_update.max_unavailable is None:
            strategy.rolling_update.max_unavailable = 1
        if strategy.rolling_update.max_surge is None:
            strategy.rolling_update.max_surge = 0
    if spec.revision_history_limit is None:
        spec.revision_history_limit = 10
    _template(spec.template)


def default_replication_controller(rc: core_v1.ReplicationController) -> None:
    """SetDefaults_ReplicationController: selector and labels from the template's labels."""
    spec = rc.spec
    if spec is None:
        return
    labels = (spec.template.metadata.labels if spec.template and spec.template.metadata else None)
    if labels:
        if not spec.selector:
            spec.selector = dict(labels)
        if rc.metadata is not None and not rc.metadata.labels:
            rc.metadata.labels = dict(labels)
    if spec.replicas is None:
        spec.replicas = 1
    _template(spec.template)


def default_pod_template(pt: core_v1.PodTemplate) -> None:
    _template(pt.template)
