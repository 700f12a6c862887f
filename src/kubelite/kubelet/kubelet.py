"""The node agent: registers the node, watches its pods, runs one worker per pod.

Start-up order matters for restart safety: the pod informer syncs first, then container
records and sandboxes whose pods no longer exist are cleaned up, and only then are the pods'
workers run, which adopt the containers that still run (same ids, same restart counts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

from kubelite.client import ApiClient, Informer, QueueShutDown, WorkQueue
from kubelite.client.servers import ServerPool
from kubelite.kubelet import api_servers, child_watcher, eviction, image_gc, stats
from kubelite.kubelet.admission import PodAdmission, rejected_status
from kubelite.kubelet.config import AgentConfig
from kubelite.kubelet.events import EventRecorder
from kubelite.kubelet.host_runtime import HostRuntime
from kubelite.kubelet.logs import reopen_conmon_log, rotate_if_needed
from kubelite.kubelet.node import NodeAgent, default_node_ip
from kubelite.kubelet.node_services import NodeServices, pod_network
from kubelite.kubelet.pod_worker import PodSyncer
from kubelite.kubelet.records import RecordStore
from kubelite.kubelet.status_manager import StatusManager
from kubelite.kubelet.volumes import VolumeManager
from kubelite.network import PodNetwork
from kubelite.network.policy import PolicyEnforcer

log = logging.getLogger(__name__)

WORKERS = 32
RESYNC_INTERVAL = 10.0
LOG_ROTATE_INTERVAL = 10.0


class Kubelet:
    """One node's agent. `await start()`, then `await stop()` (containers keep running)."""

    def __init__(self, config: AgentConfig, *, client: ApiClient | None = None) -> None:
        self.config = config
        self.client = client or ApiClient(
            config.server, token=config.bearer_token, ca_file=config.ca_file, insecure=config.insecure,
            client_cert_file=config.client_cert_file, client_key_file=config.client_key_file,
            user_agent=f"kubelite-agent/{config.node_name}", servers=ServerPool(config.server))
        api_servers.load_saved(self.client.servers, config.names.kubelet_dir)
        self.api_servers = api_servers.ApiServers(self.client, config.names.kubelet_dir)
        self.node_ip = config.node_ip or default_node_ip(config.server)
        self.pods: dict[str, dict[str, Any]] = {}  # uid -> pod
        self.queue: WorkQueue[str] = WorkQueue(base_delay=0.5, max_delay=60.0)
        self._tasks: list[asyncio.Task[Any]] = []
        self.server: Any = None
        self.runtime: HostRuntime | None = None
        self.syncer: PodSyncer | None = None
        self.informer: Informer | None = None
        self.node: NodeAgent | None = None
        self.volumes: VolumeManager | None = None
        self.services: NodeServices | None = None  # service proxy and cluster DNS
        self.network: PodNetwork | None = None  # pod network across nodes (--pod-network)
        self.policy: PolicyEnforcer | None = None  # NetworkPolicy (--disable-network-policy)
        self.service_informer: Informer | None = None
        self.status = StatusManager(self.client)
        self.events = EventRecorder(self.client, config.node_name)
        self._pidfd_watcher = False
        self.admission = PodAdmission(config.max_pods)

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        cfg = self.config
        names = cfg.names
        self._pidfd_watcher = child_watcher.install()  # no thread per runc/conmon/CNI call
        for d in (names.kubelet_dir, names.pod_logs_dir, names.run_dir):
            os.makedirs(d, exist_ok=True)
        self._tasks += self.api_servers.start()  # every server's address, for failover
        port = await self._start_server()
        self.node = NodeAgent(self.client, cfg.node_name, node_ip=self.node_ip,
                              kubelet_port=port, data_dir=cfg.data_dir, runtime=cfg.runtime,
                              max_pods=cfg.max_pods, lease_duration=cfg.node_lease_duration)
        self.node.allocatable = eviction.allocatable_for(self)
        await self.node.register()
        pod_cidr = self.node.pod_cidr or cfg.pod_cidr or await self.node.wait_pod_cidr()
        cfg.save_pod_cidr(pod_cidr)
        self.network = pod_network(self.client, cfg, self.node_ip, pod_cidr)
        mtu = await self.network.backend.pod_mtu() if self.network is not None else 1500
        self.runtime = HostRuntime(cfg, pod_cidr, self.node_ip, mtu=mtu)
        await self.runtime.setup()
        await self._start_network()
        await self._start_policy()
        # One Services informer for the pods' Service variables, the proxy and cluster DNS;
        # like the kubelet, pods wait until it has listed once (KUBERNETES_SERVICE_HOST).
        self.service_informer = Informer(self.client, "services", raw=True)
        self._tasks.append(self.service_informer.start())
        self.services = NodeServices(self.client, cfg, self.runtime.network.gateway, pod_cidr,
                                     services=self.service_informer)
        await self.services.start()
        await self.service_informer.has_synced()
        records = RecordStore(names.kubelet_dir)
        self.volumes = VolumeManager(self.client, names.pods_dir,
                                     os.path.join(cfg.data_dir, "storage"), cfg.node_name,
                                     self._requeue, allocatable=self.node.capacity)
        await self.volumes.start()
        self.syncer = PodSyncer(
            self.runtime, records, self.client, self.events, self.status.set, self._requeue,
            node_name=cfg.node_name, node_ip=self.node_ip, logs_dir=names.pod_logs_dir,
            allocatable=self.node.capacity, cluster_dns=self.services.dns_servers,
            cluster_domain=cfg.cluster_domain, volumes=self.volumes,
            services=self.service_informer.list)
        self.status.start()
        self.informer = Informer(self.client, "pods", field_selector=f"spec.nodeName={cfg.node_name}",
                                 raw=True)
        self.informer.on_add(self._on_pod)
        self.informer.on_update(self._on_pod_update)
        self.informer.on_delete(self._on_pod_deleted)
        self._tasks.append(self.informer.start())
        await self.informer.has_synced()
        await self._cleanup_orphans(records)
        self.node.start()
        for i in range(WORKERS):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"pod-worker-{i}"))
        self._tasks.append(asyncio.create_task(self._resync_loop(), name="pod-resync"))
        self._tasks.append(asyncio.create_task(self._rotate_loop(), name="log-rotation"))
        self._tasks += eviction.start_resource_management(self)  # stats sweep, evictions
        self._tasks.append(image_gc.start(self))
        log.info("node %s ready (pod CIDR %s, kubelet port %d)", cfg.node_name, pod_cidr, port)

    async def _start_network(self) -> None:
        """Pods still run on this node when the pod network cannot start (logged)."""
        if self.network is None:
            return
        try:
            await self.network.start()
        except Exception as e:  # noqa: BLE001
            log.warning("the pod network (%s) could not start: %s", self.config.pod_network, e)
            with contextlib.suppress(Exception):
                await self.network.stop()
            self.network = None

    async def _start_policy(self) -> None:
        """NetworkPolicy for this node's pods. Started before any pod worker, so every new pod
        address is classified (`admit`) before the pod's containers start. When it cannot
        start, pods run unprotected (logged), as with a cluster that has no policy plugin."""
        assert self.runtime is not None
        if not self.config.network_policy:
            return
        policy = PolicyEnforcer(self.client, self.config.names.policy_table,
                                node_name=self.config.node_name, bridge=self.config.names.bridge,
                                gateway=self.runtime.network.gateway)
        try:
            await policy.start()
        except Exception as e:  # noqa: BLE001
            log.warning("NetworkPolicy is not enforced on this node: %s", e)
            with contextlib.suppress(Exception):
                await policy.stop()
            return
        self.policy = policy

        async def classify(uid: str, ip: str) -> None:
            await policy.admit(self.pods.get(uid) or {"metadata": {"uid": uid}}, ip)

        self.runtime.on_pod_ip = classify
        self.runtime.on_sandbox_removed = policy.forget

    async def _start_server(self) -> int:
        try:
            from kubelite.kubelet.server import KubeletServer
            from kubelite.kubelet.server_auth import WebhookAuth
            from kubelite.kubelet.streams_backend import RuntimeStreamBackend
        except ImportError as e:  # the stream server is optional until it lands
            log.warning("kubelet stream server unavailable: %s", e)
            return self.config.kubelet_port
        backend = RuntimeStreamBackend(self)
        if not self.config.ca_file:
            log.warning("no --ca-file: the kubelet server cannot verify the API server; not serving")
            return self.config.kubelet_port
        self.server = KubeletServer(backend, host=self.config.kubelet_host,
                                    port=self.config.kubelet_port,
                                    ca_file=Path(self.config.ca_file),
                                    data_dir=Path(self.config.names.kubelet_dir),
                                    auth=WebhookAuth(self.client, self.config.node_name))
        self.stats = stats.attach(self)  # GET /stats/summary
        await self.server.start()
        return int(self.server.port)

    async def stop(self) -> None:
        """Stop watching and writing; containers keep running (a restart adopts them)."""
        self.queue.shutdown()
        await self.api_servers.stop()
        if self.informer is not None:
            await self.informer.stop()
        if self.node is not None:
            await self.node.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.volumes is not None:
            await self.volumes.stop()
        if self.syncer is not None:
            for task in list(self.syncer._waiters.values()):
                task.cancel()
            await self.syncer.probes.stop()
        if self.services is not None:
            await self.services.stop()
        if self.network is not None:
            await self.network.stop()  # devices and routes stay: no flap across a restart
        if self.policy is not None:
            await self.policy.stop()  # the table stays: pods stay protected across a restart
        if self.service_informer is not None:
            await self.service_informer.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.status.wait_idle(), 2)
        await self.status.stop()
        await self.events.flush()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.stop()
        await self.client.close()
        if self._pidfd_watcher:
            self._pidfd_watcher = False
            child_watcher.release()

    # -- pods -------------------------------------------------------------------------------

    def _on_pod(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        first = uid not in self.pods
        self.pods[uid] = pod
        if first and pod.get("status"):
            self.status.seed(uid, pod["status"])
        self.queue.add(uid)

    def _on_pod_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Our own status writes come back as updates: only other changes need a sync."""
        uid = new["metadata"]["uid"]
        self.pods[uid] = new
        if old.get("spec") != new.get("spec") or any(
                old["metadata"].get(k) != new["metadata"].get(k)
                for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "labels",
                          "annotations", "uid")) or _gate_conditions_changed(old, new):
            self.queue.add(uid)

    def _on_pod_deleted(self, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        self.pods.pop(uid, None)
        self.admission.forget(uid)
        self.status.forget(uid)
        self.queue.add(uid)

    def _requeue(self, uid: str, delay: float) -> None:
        if delay > 0:
            self.queue.add_after(uid, delay)
        else:
            self.queue.add(uid)

    def find_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        for pod in self.pods.values():
            meta = pod["metadata"]
            if meta.get("name") == name and (meta.get("namespace") or "default") == namespace:
                return pod
        return None

    async def _cleanup_orphans(self, records: RecordStore) -> None:
        """Containers and sandboxes of pods deleted while the agent was down."""
        assert self.syncer is not None and self.runtime is not None
        known = set(self.pods)
        orphans = (records.pod_uids() | await self.runtime.sandbox_uids()
                   | (self.volumes.known_pod_dirs() if self.volumes else set())) - known
        for uid in orphans:
            log.info("cleaning up pod %s, deleted while the agent was down", uid)
            try:
                await self.syncer.cleanup(uid, grace=0)
            except Exception as e:  # noqa: BLE001 - retried by the next resync
                log.warning("cleaning up pod %s: %s", uid, e)
        # Containers in the runtime that no record knows (agent died between create and record).
        recorded = {r.id for r in records.all()}
        for cid in await self.runtime.container_ids() - recorded:
            with contextlib.suppress(Exception):
                await self.runtime.oci.delete(cid, force=True)

    async def _worker(self) -> None:
        assert self.syncer is not None
        while True:
            try:
                uid = await self.queue.get()
            except QueueShutDown:
                return
            try:
                if self._refused(uid):
                    continue
                delay = await self.syncer.sync(uid, self.pods.get(uid))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - retried with back-off
                log.warning("syncing pod %s failed: %s", uid, e, exc_info=log.isEnabledFor(
                    logging.DEBUG))
                self.queue.add_rate_limited(uid)
            else:
                self.queue.forget(uid)
                if delay:
                    self.queue.add_after(uid, delay)
            finally:
                self.queue.done(uid)

    def _refused(self, uid: str) -> bool:
        """Admission (--max-pods): a refused pod is reported Failed once and never run."""
        pod = self.pods.get(uid)
        if pod is None:
            return False
        first = uid not in self.admission.rejected
        rejection = self.admission.check(uid, pod, self.pods)
        if rejection is None:
            return False
        if first:
            meta = pod["metadata"]
            self.events.emit(pod, rejection.reason, rejection.message, warning=True)
            self.status.set(uid, meta.get("namespace") or "default", meta["name"],
                            rejected_status(pod, rejection))
        return True

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_INTERVAL)
            for uid in list(self.pods):
                self.queue.add(uid)

    async def _rotate_loop(self) -> None:
        assert self.syncer is not None and self.runtime is not None
        rt = self.runtime
        while True:
            await asyncio.sleep(LOG_ROTATE_INTERVAL)
            for rec in self.syncer.records.all():
                with contextlib.suppress(OSError):
                    rotate_if_needed(rec.log_path, self.config.log_max_bytes,
                                     self.config.log_max_files,
                                     lambda r=rec: reopen_conmon_log(rt.bundle(r.id)))  # type: ignore[misc]


def _gate_conditions_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Another component set a condition a readiness gate waits for: recompute Ready."""
    gates = {g.get("conditionType") for g in (new.get("spec") or {}).get("readinessGates") or []}
    if not gates:
        return False

    def of(pod: dict[str, Any]) -> list[Any]:
        return [c for c in (pod.get("status") or {}).get("conditions") or []
                if c.get("type") in gates]

    return of(old) != of(new)
