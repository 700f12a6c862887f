"""Starts the built-in controllers inside `kubelite server`, each talking through the HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from kubelite.client import ApiClient
from kubelite.controllers.base import Controller
from kubelite.controllers.clusterroleaggregation import ClusterRoleAggregationController
from kubelite.controllers.credentials import ServiceAccountCredentials
from kubelite.controllers.cronjob import CronJobController
from kubelite.controllers.daemonset import DaemonSetController
from kubelite.controllers.deployment import DeploymentController
from kubelite.controllers.disruption import DisruptionController
from kubelite.controllers.endpoints import EndpointsController
from kubelite.controllers.endpointslices import EndpointSliceController
from kubelite.controllers.garbagecollector import GarbageCollector
from kubelite.controllers.horizontalpodautoscaler import HorizontalPodAutoscalerController
from kubelite.controllers.ingress_status import IngressStatusController
from kubelite.controllers.job import JobController
from kubelite.controllers.local_path import LocalPathProvisioner
from kubelite.controllers.namespace import NamespaceController
from kubelite.controllers.node_ipam import NodeIpamController
from kubelite.controllers.nodelifecycle import NodeLifecycleController
from kubelite.controllers.podgc import PodGCController
from kubelite.controllers.pv_binder import PersistentVolumeController
from kubelite.controllers.pvc_protection import PVCProtectionController, PVProtectionController
from kubelite.controllers.replicaset import ReplicaSetController
from kubelite.controllers.replication import ReplicationControllerController
from kubelite.controllers.resourcequota import ResourceQuotaController
from kubelite.controllers.serviceaccount import ServiceAccountController
from kubelite.controllers.serviceaccount_token import ServiceAccountTokenController
from kubelite.controllers.servicelb import ServiceLBController
from kubelite.controllers.settings import ControllerSettings
from kubelite.controllers.shared import SharedInformers
from kubelite.controllers.statefulset import StatefulSetController
from kubelite.controllers.ttl_after_finished import TTLAfterFinishedController
from kubelite.scheduler.scheduler import Scheduler

log = logging.getLogger(__name__)


def _root_ca(settings: ControllerSettings) -> str | None:
    """The root CA to publish: the given file"s, else (None) the one the client trusts."""
    if settings.root_ca_file is None:
        return None
    with open(settings.root_ca_file) as f:
        return f.read()


# (the service account in kube-system the controller acts as with service account credentials,
# as kube-controller-manager's --use-service-account-credentials; None: the controller-manager's
# own identity, as Kubernetes' token controller uses its root client), factory
Factory = Callable[[ApiClient, ControllerSettings], Controller]

CONTROLLERS: tuple[tuple[str | None, Factory], ...] = (
    ("namespace-controller", lambda client, s: NamespaceController(client)),
    ("service-account-controller", lambda client, s: ServiceAccountController(client, _root_ca(s))),
    (None, lambda client, s: ServiceAccountTokenController(client, _root_ca(s))),
    ("node-ipam-controller", lambda client, s: NodeIpamController(client, cluster_cidr=s.cluster_cidr)),
    ("endpoint-controller", lambda client, s: EndpointsController(client)),
    ("endpointslice-controller", lambda client, s: EndpointSliceController(client)),
    ("persistent-volume-binder", lambda client, s: PersistentVolumeController(client)),
    ("local-path-provisioner", lambda client, s: LocalPathProvisioner(client)),
    ("pvc-protection-controller", lambda client, s: PVCProtectionController(client)),
    ("pv-protection-controller", lambda client, s: PVProtectionController(client)),
    ("resourcequota-controller", lambda client, s: ResourceQuotaController(client)),
    ("clusterrole-aggregation-controller", lambda client, s: ClusterRoleAggregationController(client)),
)

# The workload controllers, given the shared informers at construction.
SharedFactory = Callable[[ApiClient, ControllerSettings, SharedInformers], Controller]

SHARED_CONTROLLERS: tuple[tuple[str | None, SharedFactory], ...] = (
    ("replicaset-controller", lambda client, s, shared: ReplicaSetController(client, shared)),
    ("deployment-controller", lambda client, s, shared: DeploymentController(client, shared)),
    ("statefulset-controller", lambda client, s, shared: StatefulSetController(client, shared)),
    ("replication-controller", lambda client, s, shared: ReplicationControllerController(client, shared)),
    ("daemon-set-controller", lambda client, s, shared: DaemonSetController(client, shared)),
    ("job-controller", lambda client, s, shared: JobController(client, shared)),
    ("cronjob-controller", lambda client, s, shared: CronJobController(client, shared)),
    ("ttl-after-finished-controller", lambda client, s, shared: TTLAfterFinishedController(client, shared)),
    ("generic-garbage-collector", lambda client, s, shared: GarbageCollector(client, shared=shared, custom_kinds=True)),
    ("node-controller", lambda client, s, shared: NodeLifecycleController(
        client, grace_period=s.node_monitor_grace_period, monitor_period=s.node_monitor_period,
        eviction_cap=s.pod_eviction_timeout, shared=shared)),
    # pod GC"s node quarantine is Kubernetes" fixed 40 s, the default grace period: tied to
    # it here so that a short test grace shortens both
    ("pod-garbage-collector", lambda client, s, shared: PodGCController(
        client, shared, terminated_threshold=s.terminated_pod_gc_threshold,
        quarantine=s.node_monitor_grace_period)),
    ("disruption-controller", lambda client, s, shared: DisruptionController(client, shared)),
    ("horizontal-pod-autoscaler", lambda client, s, shared: HorizontalPodAutoscalerController(
        client, shared, sync_period=s.hpa_sync_period,
        downscale_stabilization=s.hpa_downscale_stabilization)),
    ("service-lb-controller", lambda client, s, shared: ServiceLBController(client, shared)),
    ("ingress-status-controller", lambda client, s, shared: IngressStatusController(client, shared)),
)


class ControllerManager:
    """The controllers and (unless disabled) the scheduler, all clients of the HTTP API."""

    def __init__(self, client: ApiClient, settings: ControllerSettings | None = None, *,
                 scheduler_client: ApiClient | None = None,
                 credentials: ServiceAccountCredentials | None = None) -> None:
        """`client` is the controller-manager's own; the scheduler uses `scheduler_client` (its
        own identity) if given, and each controller its service account's client from
        `credentials` if given. The shared informers read with `client`."""
        self.client = client
        self.settings = settings or ControllerSettings()
        self.credentials = credentials
        self.scheduler_client = scheduler_client
        # One informer per kind for every controller and the scheduler: one watch and one
        # decode of each change for the whole process.
        self.shared = SharedInformers(client)
        self.controllers = [make(self._client_of(account), self.settings) for account, make in CONTROLLERS]
        for c in self.controllers:
            c.share(self.shared)
        self.controllers += [make(self._client_of(account), self.settings, self.shared)
                             for account, make in SHARED_CONTROLLERS]
        self.scheduler: Scheduler | None = (
            Scheduler(scheduler_client or client, informers=self.shared.raw_informer)  # type: ignore[arg-type]
            if self.settings.scheduler else None
        )
        self._starting: list[asyncio.Task[None]] = []

    def _client_of(self, account: str | None) -> ApiClient:
        if account is None or self.credentials is None:
            return self.client
        return self.credentials.client(account)

    def prepare(self) -> None:
        """Register every controller's informers and handlers before any informer starts (so
        no handler misses the first list), whichever half starts first."""
        for c in self.controllers:
            c.prepare()

    def start(self) -> None:
        self.start_controllers()
        self.start_scheduler()

    def start_controllers(self) -> None:
        """The controllers: with leader election, once this process holds kube-controller-manager."""
        self.prepare()
        if self.credentials is not None:
            self.credentials.start()
        for c in self.controllers:
            self._starting.append(asyncio.create_task(self._start(c), name=f"start-{c.name}"))

    def start_scheduler(self) -> None:
        """The scheduler: with leader election, once this process holds kube-scheduler."""
        self.prepare()
        if self.scheduler is not None:
            self._starting.append(asyncio.create_task(self.scheduler.start(), name="start-scheduler"))

    async def _start(self, controller: Controller) -> None:
        """Start once the controller's credentials hold a token."""
        if self.credentials is not None:
            await self.credentials.ready.wait()
        await controller.start()

    async def stop(self, *, close: bool = True) -> None:
        """Stop every loop; with `close`, close the clients too (not yet if a lease is still
        to be released through them)."""
        for t in self._starting:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for c in self.controllers:
            await c.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.shared.stop()
        if self.credentials is not None:
            await self.credentials.stop()
        if close:
            await self.close()

    async def close(self) -> None:
        if self.scheduler_client is not None:
            await self.scheduler_client.close()
        await self.client.close()
