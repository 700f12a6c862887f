"""Strategies of kinds that need more than the generic one."""

from __future__ import annotations

import base64
from typing import Any

from kubelite.api.defaults import admit_pod, pod_qos_class
from kubelite.api.strategy.base import Strategy
from kubelite.api.types import apps_v1, autoscaling_v2, batch_v1, core_v1, networking_v1, policy_v1
from kubelite.api.types.meta_v1 import LabelSelector, ObjectMeta
from kubelite.api.validation.errors import FieldError
from kubelite.api.validation.pod import validate_pod_update

SCHEDULING_GATED = "SchedulingGated"
SCHEDULING_GATED_MESSAGE = "Scheduling is blocked due to non-empty scheduling gates"


class PodStrategy(Strategy):
    """Pods start Pending with their QoS class; only a few spec fields may change later; a
    delete gives the kubelet a grace period to stop the containers."""

    graceful_delete = True

    def prepare_for_create(self, obj: Any) -> None:
        pod: core_v1.Pod = obj
        super().prepare_for_create(pod)
        spec = pod.spec
        if spec is not None and spec.termination_grace_period_seconds is not None \
                and spec.termination_grace_period_seconds < 0:
            spec.termination_grace_period_seconds = 1

    def admit_create(self, obj: Any) -> None:
        admit_pod(obj)

    def check_graceful_delete(self, obj: Any, requested: int | None) -> int | None:
        """podStrategy.CheckGracefulDelete: the pod's own grace period unless one is asked
        for; 0 for a pod never bound to a node or already finished (the kubelet has nothing
        to stop). A grace of 0 still counts as graceful: the store then deletes at once."""
        pod: core_v1.Pod = obj
        spec, status = pod.spec, pod.status
        period = requested if requested is not None else (
            spec.termination_grace_period_seconds if spec is not None
            and spec.termination_grace_period_seconds is not None else 0)
        if spec is None or not spec.node_name:
            period = 0
        if status is not None and status.phase in ("Succeeded", "Failed"):
            period = 0
        return max(period, 1) if period < 0 else period

    def initial_status(self, obj: Any) -> None:
        pod: core_v1.Pod = obj
        status = core_v1.PodStatus(phase="Pending", qos_class=pod_qos_class(pod))
        if pod.spec is not None and pod.spec.scheduling_gates:
            status.conditions = [core_v1.PodCondition(
                type="PodScheduled", status="False", reason=SCHEDULING_GATED,
                message=SCHEDULING_GATED_MESSAGE)]
        pod.status = status

    def validate_update(self, new: Any, old: Any) -> list[FieldError]:
        return validate_pod_update(new, old)


class NamespaceStrategy(Strategy):
    """Namespaces carry the "kubernetes" finalizer; it changes only through /finalize. A
    deleted namespace stays Terminating until the namespace controller has emptied it and
    removed that finalizer (namespace REST Delete and ShouldDeleteNamespaceDuringUpdate)."""

    protected_names = frozenset({"default", "kube-system", "kube-public"})
    protected_reason = "this namespace may not be deleted"

    def pending_finalizers(self, obj: Any) -> bool:
        ns: core_v1.Namespace = obj
        return bool(ns.spec is not None and ns.spec.finalizers)

    def prepare_for_delete(self, obj: Any) -> None:
        ns: core_v1.Namespace = obj
        if ns.status is None:
            ns.status = core_v1.NamespaceStatus()
        ns.status.phase = "Terminating"

    def initial_status(self, obj: Any) -> None:
        ns: core_v1.Namespace = obj
        if ns.spec is None:
            ns.spec = core_v1.NamespaceSpec()
        if "kubernetes" not in (ns.spec.finalizers or []):
            ns.spec.finalizers = list(ns.spec.finalizers or []) + ["kubernetes"]
        ns.status = core_v1.NamespaceStatus(phase="Active")

    def prepare_for_update(self, new: Any, old: Any) -> None:
        super().prepare_for_update(new, old)
        new.spec = old.spec


class NodeStrategy(Strategy):
    """Nodes register with their status; later spec updates keep it. Go always writes a
    node's daemonEndpoints and nodeInfo (structs, not pointers): a node created without
    them shows them empty."""

    keeps_status_on_create = True

    def initial_status(self, obj: Any) -> None:
        node: core_v1.Node = obj
        status = node.status = node.status or core_v1.NodeStatus()
        if status.daemon_endpoints is None:
            status.daemon_endpoints = core_v1.NodeDaemonEndpoints(
                kubelet_endpoint=core_v1.DaemonEndpoint(port=0))
        if status.node_info is None:
            status.node_info = core_v1.NodeSystemInfo(
                architecture="", boot_id="", container_runtime_version="", kernel_version="",
                kube_proxy_version="", kubelet_version="", machine_id="", operating_system="",
                os_image="", system_uuid="")


def merge_string_data(secret: core_v1.Secret) -> None:
    """stringData is write-only: it is folded into data (base64) and never stored."""
    if not secret.string_data:
        secret.string_data = None
        return
    data = dict(secret.data or {})
    for key, value in secret.string_data.items():
        data[key] = base64.b64encode(value.encode()).decode()
    secret.data = data
    secret.string_data = None


class SecretStrategy(Strategy):
    def defaults(self, obj: Any) -> None:
        merge_string_data(obj)
        super().defaults(obj)


class DeploymentStrategy(Strategy):
    """A new Deployment's status is empty (`{}`): PrepareForCreate resets it."""

    tracks_generation = True
    generation_follows_annotations = True

    def initial_status(self, obj: Any) -> None:
        obj.status = apps_v1.DeploymentStatus()


class ReplicaSetStrategy(Strategy):
    """A new ReplicaSet's status says `replicas: 0` (a field Go never omits)."""

    tracks_generation = True

    def initial_status(self, obj: Any) -> None:
        obj.status = apps_v1.ReplicaSetStatus(replicas=0)


class StatefulSetStrategy(Strategy):
    """A new StatefulSet's status says `replicas: 0, availableReplicas: 0` (fields Go never
    omits); maxUnavailable is dropped while the alpha MaxUnavailableStatefulSet gate is off."""

    tracks_generation = True

    def defaults(self, obj: Any) -> None:
        super().defaults(obj)
        strategy = obj.spec.update_strategy if obj.spec is not None else None
        if strategy is not None and strategy.rolling_update is not None:
            strategy.rolling_update.max_unavailable = None

    def initial_status(self, obj: Any) -> None:
        obj.status = apps_v1.StatefulSetStatus(replicas=0, available_replicas=0)


class DaemonSetStrategy(Strategy):
    """A new DaemonSet's status has its four counters at 0 (fields Go never omits)."""

    tracks_generation = True

    def initial_status(self, obj: Any) -> None:
        obj.status = apps_v1.DaemonSetStatus(
            current_number_scheduled=0, number_misscheduled=0, desired_number_scheduled=0,
            number_ready=0)


class ReplicationControllerStrategy(Strategy):
    """A new ReplicationController's status says `replicas: 0`, as a ReplicaSet's does."""

    tracks_generation = True

    def initial_status(self, obj: Any) -> None:
        obj.status = core_v1.ReplicationControllerStatus(replicas=0)


class PodDisruptionBudgetStrategy(Strategy):
    """A new PDB's status carries its four counters at 0 (fields Go never omits)."""

    tracks_generation = True

    def initial_status(self, obj: Any) -> None:
        obj.status = policy_v1.PodDisruptionBudgetStatus(
            disruptions_allowed=0, current_healthy=0, desired_healthy=0, expected_pods=0)


class IngressStrategy(Strategy):
    """A new Ingress's status is an empty load balancer (Go writes `status: {loadBalancer: {}}`)."""

    tracks_generation = True

    def initial_status(self, obj: Any) -> None:
        obj.status = networking_v1.IngressStatus(
            load_balancer=networking_v1.IngressLoadBalancerStatus())


class GenerationStrategy(Strategy):
    """Kinds whose only server-side rule is metadata.generation (IngressClass)."""

    tracks_generation = True


class HorizontalPodAutoscalerStrategy(Strategy):
    """A new HPA's status is empty but for desiredReplicas, which Go never omits."""

    tracks_generation = True

    def initial_status(self, obj: Any) -> None:
        obj.status = autoscaling_v2.HorizontalPodAutoscalerStatus(desired_replicas=0)


class ResourceQuotaStrategy(Strategy):
    """A new ResourceQuota's status is empty (`{}`) until the quota controller fills it."""

    def initial_status(self, obj: Any) -> None:
        obj.status = core_v1.ResourceQuotaStatus()


class PersistentVolumeStrategy(Strategy):
    def initial_status(self, obj: Any) -> None:
        pv: core_v1.PersistentVolume = obj
        pv.status = core_v1.PersistentVolumeStatus(phase="Pending")


class PersistentVolumeClaimStrategy(Strategy):
    def initial_status(self, obj: Any) -> None:
        pvc: core_v1.PersistentVolumeClaim = obj
        pvc.status = core_v1.PersistentVolumeClaimStatus(phase="Pending")


# Labels the API server puts on a Job's pod template (jobStrategy.generateSelector).
JOB_CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"


class JobStrategy(Strategy):
    """A new Job gets a selector of its own uid, unless spec.manualSelector says the user
    chose one (generateSelector), and an empty status."""

    tracks_generation = True

    def prepare_for_create(self, obj: Any) -> None:
        super().prepare_for_create(obj)
        job: batch_v1.Job = obj
        if job.spec is not None and not job.spec.manual_selector:
            generate_job_selector(job)

    def initial_status(self, obj: Any) -> None:
        obj.status = batch_v1.JobStatus()


def generate_job_selector(job: batch_v1.Job) -> None:
    meta = job.metadata or ObjectMeta()
    spec = job.spec
    assert spec is not None
    uid, name = meta.uid or "", meta.name or ""
    tmeta = spec.template.metadata = spec.template.metadata or ObjectMeta()
    labels = dict(tmeta.labels or {})
    labels.setdefault(LEGACY_CONTROLLER_UID, uid)
    labels.setdefault(LEGACY_JOB_NAME, name)
    labels.setdefault(JOB_CONTROLLER_UID, uid)
    labels.setdefault(JOB_NAME, name)
    tmeta.labels = labels
    if spec.selector is None:
        spec.selector = LabelSelector(match_labels={JOB_CONTROLLER_UID: uid})


class CronJobStrategy(Strategy):
    """A new CronJob's status is empty (`{}`)."""

    tracks_generation = True

    def initial_status(self, obj: Any) -> None:
        obj.status = batch_v1.CronJobStatus()


__all__ = ["CronJobStrategy", "JobStrategy", "DaemonSetStrategy", "DeploymentStrategy", "HorizontalPodAutoscalerStrategy", "ReplicationControllerStrategy", "NamespaceStrategy", "NodeStrategy",
           "PersistentVolumeClaimStrategy", "PersistentVolumeStrategy",
           "GenerationStrategy", "IngressStrategy", "PodDisruptionBudgetStrategy", "PodStrategy", "ReplicaSetStrategy", "ResourceQuotaStrategy",
           "StatefulSetStrategy",
           "SecretStrategy",
           "ServiceStrategy"]


class ServiceStrategy(Strategy):
    """Allocated values (clusterIP, node ports) survive an update that leaves them out, and
    node ports go when the type no longer needs them, as Kubernetes' Service REST does. A new
    Service's status is `{"loadBalancer": {}}` (PrepareForCreate resets it; the field is a
    struct Go never omits)."""

    def initial_status(self, obj: Any) -> None:
        svc: core_v1.Service = obj
        svc.status = core_v1.ServiceStatus(load_balancer=core_v1.LoadBalancerStatus())

    def prepare_for_update(self, new: Any, old: Any) -> None:
        super().prepare_for_update(new, old)
        spec: core_v1.ServiceSpec | None = new.spec
        before: core_v1.ServiceSpec | None = old.spec
        if spec is None or before is None:
            return
        same_type = (spec.type or "ClusterIP") == (before.type or "ClusterIP")
        if not spec.cluster_ip and before.cluster_ip and (same_type or spec.type != "ExternalName"):
            spec.cluster_ip = before.cluster_ip
            spec.cluster_ips = spec.cluster_ips or before.cluster_ips
            spec.ip_families = spec.ip_families or before.ip_families
            spec.ip_family_policy = spec.ip_family_policy or before.ip_family_policy
        if (spec.type or "ClusterIP") in ("ClusterIP", "ExternalName"):
            for port in spec.ports or []:
                port.node_port = None
        elif same_type:
            old_ports = {(p.port, p.protocol or "TCP"): p.node_port for p in before.ports or []}
            for port in spec.ports or []:
                if not port.node_port:
                    port.node_port = old_ports.get((port.port, port.protocol or "TCP"))
