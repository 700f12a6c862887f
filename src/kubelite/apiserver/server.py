"""`kubelite server`: the API server process, with its store, watch cache and TLS."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from aiohttp import web

from kubelite import tls
from kubelite.apiserver import client_certs
from kubelite.apiserver.admission import NamespaceLifecycle, StorageAdmission, WatchedKind
from kubelite.apiserver.admission_ingress import DefaultIngressClass
from kubelite.apiserver.admission_noderestriction import NodeRestriction
from kubelite.apiserver.admission_priority import PriorityAdmission
from kubelite.apiserver.admission_quota import LIMIT_RANGES, RESOURCE_QUOTAS, admission_plugins
from kubelite.apiserver.advertise import advertise_address
from kubelite.apiserver.app import build_app
from kubelite.apiserver.audit import Auditor
from kubelite.apiserver.audit import policy as audit_policy
from kubelite.apiserver.audit.writer import AuditWriter
from kubelite.apiserver.auth import TokenAuthenticator
from kubelite.apiserver.authz import bootstrap as rbac_bootstrap
from kubelite.apiserver.authz.chain import AuthorizerChain
from kubelite.apiserver.authz.escalation import RbacEscalation
from kubelite.apiserver.authz.node import NodeAuthorizer
from kubelite.apiserver.authz.node_feed import NodeGraphFeed
from kubelite.apiserver.authz.node_graph import NodeGraph
from kubelite.apiserver.bound_objects import BoundObjects
from kubelite.apiserver.certs import apiserver_hosts, ensure_serving_cert
from kubelite.apiserver.controller_process import ControllerManagerProcess
from kubelite.apiserver.customresources import CustomResources
from kubelite.apiserver.dashboard import Dashboard
from kubelite.apiserver.encryption import Encryption
from kubelite.apiserver.events import EventReaper
from kubelite.apiserver.handlers import ResourceHandlers
from kubelite.apiserver.ipalloc import ServiceAllocator
from kubelite.apiserver.join import JoinService
from kubelite.apiserver.master_leases import StoreLeases
from kubelite.apiserver.metrics import Metrics, TimedStore
from kubelite.apiserver.metrics_api import MetricsApi
from kubelite.apiserver.podsecurity import PodSecurity
from kubelite.apiserver.podsecurity_config import PodSecurityConfig
from kubelite.apiserver.proxy import KubeletProxy
from kubelite.apiserver.rest import ObjectStore
from kubelite.apiserver.server_join import ServerJoin
from kubelite.apiserver.systemnamespaces import SystemNamespaces
from kubelite.apiserver.systempriorityclasses import ensure_system_priority_classes
from kubelite.apiserver.watchcache import WatchCache
from kubelite.client import ApiClient, kubeconfig
from kubelite.client.api_client import UNIX_SCHEME
from kubelite.client.leaderelection import identity as leader_identity
from kubelite.controllers.settings import ControllerSettings
from kubelite.controlplane import KubernetesServiceController
from kubelite.etcd import layout as etcd_layout
from kubelite.etcd.embedded import EmbeddedEtcd, EtcdSettings
from kubelite.etcd.member_removal import MemberRemoval
from kubelite.etcd.snapshots import SnapshotSchedule, SnapshotSettings
from kubelite.store import open_store
from kubelite.store.etcd_tls import EtcdTLS
from kubelite.store.interface import Store

if TYPE_CHECKING:
    from kubelite.controllers.manager import ControllerManager

log = logging.getLogger("kubelite.apiserver")

SOCKET_NAME = "api.sock"
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with the terminating NUL


@dataclass
class ServerConfig:
    data_dir: Path
    listen: str = "127.0.0.1:6443"
    datastore_endpoint: str = ""
    # TLS to etcd for https:// datastore endpoints (k3s' --datastore-cafile/-certfile/-keyfile)
    datastore_cafile: str = ""
    datastore_certfile: str = ""
    datastore_keyfile: str = ""
    tls: bool = True
    tls_sans: list[str] = field(default_factory=list)
    token: str = ""  # the join secret (`--token`); default: kept in DATA_DIR/token, made once
    event_ttl: float = 3600.0
    advertise_address: str = ""
    controllers: bool = True
    scheduler: bool = True
    cluster_cidr: str = "10.42.0.0/16"
    service_cidr: str = "10.43.0.0/16"
    node_port_range: str = "30000-32767"
    node_monitor_grace_period: float = 40.0
    node_monitor_period: float = 5.0
    pod_eviction_timeout: float | None = None
    terminated_pod_gc_threshold: int = 12500
    hpa_sync_period: float = 15.0
    hpa_downscale_stabilization: float = 300.0
    # the controller-manager child's leader election (--leader-elect*: ControllerSettings)
    leader_elect: bool = True
    leader_elect_lease_duration: float = 15.0
    leader_elect_renew_deadline: float = 10.0
    leader_elect_retry_period: float = 2.0
    controllers_in_process: bool = False  # else a `kubelite controller-manager` child process
    # "Node,RBAC" (with system:masters in front), or "AlwaysAllow": every authenticated user
    # may do anything (kube-apiserver's --authorization-mode; for benchmarks and debugging)
    authorization_mode: str = "Node,RBAC"
    # The controller-manager child as system:kube-controller-manager, its scheduler as
    # system:kube-scheduler and each controller as its service account in kube-system
    # (--use-service-account-credentials) instead of an admin; roles in
    # api/rbac/bootstrap_components.py. Off: all as the admin.
    component_identities: bool = True
    pod_security: PodSecurityConfig = field(default_factory=PodSecurityConfig)
    secrets_encryption: bool = True  # k3s' --secrets-encryption, on for new clusters here
    encryption_provider_config: str = ""  # kube-apiserver's --encryption-provider-config
    audit_policy_file: str = ""
    audit_log_path: str = ""  # "-": standard output
    audit_log_maxsize: int = 0  # megabytes (0: 100)
    audit_log_maxbackup: int = 0  # 0: keep every backup
    audit_log_maxage: int = 0  # days (0: no limit)
    dashboard_sample_interval: float = 15.0  # seconds between utilization samples (24 h kept)
    etcd: EtcdSettings | None = None  # an embedded etcd member as the store (k3s' --cluster-init)
    snapshots: SnapshotSettings = field(default_factory=SnapshotSettings)

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


class ApiServer:
    """Owns the store, the watch cache and the HTTP(S) listener."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store: Store | None = None
        self.cache: WatchCache | None = None
        self.objects: ObjectStore | None = None
        self.metrics = Metrics()
        self._runner: web.AppRunner | None = None
        self._reaper: EventReaper | None = None
        self.authenticator: TokenAuthenticator | None = None
        self.port = 0
        self._ready = False
        self._controllers: ControllerManager | None = None
        self._controller_process: ControllerManagerProcess | None = None
        self.socket_path: Path | None = None  # the local socket, when the path fits one
        self.proxy: KubeletProxy | None = None
        self.metrics_api: MetricsApi | None = None
        self.dashboard: Dashboard | None = None
        # the controller-manager child's identity in its Leases, `<hostname>_<uuid>`
        self.leader_identity = leader_identity()
        self.advertise_ip = advertise_address(config.advertise_address, config.host)
        self._kubernetes_service: KubernetesServiceController | None = None
        self.join: JoinService | None = None
        self.authorizer: AuthorizerChain | None = None
        self.encryption: Encryption | None = None
        self.audit = audit_from(config)
        self.etcd = EmbeddedEtcd(config.data_dir, config.etcd) if config.etcd is not None else None
        self._snapshots: SnapshotSchedule | None = None
        self._member_removal: MemberRemoval | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.config.tls else "http"
        host = self.config.advertise_address or self.config.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"{scheme}://{host}:{self.port}"

    @property
    def kubeconfig_path(self) -> Path:
        return self.config.data_dir / "kubeconfig.yaml"

    async def start(self) -> None:
        cfg = self.config
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        datastore = cfg.datastore_endpoint
        if self.etcd is not None:  # the joining server's CAs and keys come first
            await self.etcd.copy_bootstrap()
            datastore = await self.etcd.start()
        etcd_tls = EtcdTLS(cfg.datastore_cafile, cfg.datastore_certfile, cfg.datastore_keyfile)
        self.store = open_store(datastore, str(cfg.data_dir), tls=etcd_tls)
        self.encryption = Encryption.setup(cfg.data_dir, cfg.secrets_encryption, cfg.encryption_provider_config)
        if self.encryption is not None:  # between the backend and everything that reads values
            self.store = self.encryption.wrap(self.store)
        await self.store.start()
        self.cache = WatchCache(self.store)
        await self.cache.start()
        timed: Any = TimedStore(self.store, self.metrics)
        self.namespace_lifecycle = NamespaceLifecycle(timed)
        self.service_allocator = ServiceAllocator(timed, cfg.service_cidr, cfg.node_port_range)
        self.limit_ranges = WatchedKind(timed, LIMIT_RANGES)
        self.quotas = WatchedKind(timed, RESOURCE_QUOTAS)
        # The Node authorizer's graph, fed by the watch cache (the authorizer chain asks it)
        self.node_graph = NodeGraph()
        self.node_graph_feed = NodeGraphFeed(timed, self.node_graph)
        self.node_authorizer = NodeAuthorizer(self.node_graph)
        self.node_restriction = NodeRestriction(timed)
        self.pod_security = PodSecurity(timed, cfg.pod_security)
        limit_ranger, quota = admission_plugins(timed, self.limit_ranges, self.quotas)
        self.priority = PriorityAdmission(timed)
        # authorization (Node,RBAC) only where there is authentication (the TLS listener)
        self.authorizer = AuthorizerChain(node=self.node_authorizer) \
            if cfg.tls and cfg.authorization_mode != "AlwaysAllow" else None
        escalation = [RbacEscalation(self.authorizer, timed)] if self.authorizer is not None else []
        self.objects = ObjectStore(
            # Kubernetes' order: mutating plugins (LimitRanger, Priority) before validating ones
            # (NodeRestriction, PodSecurity, ResourceQuota)
            timed, admission=[self.namespace_lifecycle, *escalation, self.node_restriction, self.service_allocator,
                              StorageAdmission(timed), DefaultIngressClass(timed), limit_ranger, self.priority, self.pod_security,
                              quota],
            after_delete=[self.service_allocator.after_delete],
        )
        self.system_namespaces = SystemNamespaces(self.objects)
        await self.system_namespaces.start(self.cache)
        self.custom_resources = CustomResources(self.objects)
        await self.custom_resources.start(self.cache)
        await ensure_system_priority_classes(self.objects)
        await self.priority.classes.start(self.cache)
        await self.namespace_lifecycle.start(self.cache)
        await self.limit_ranges.start(self.cache)
        await self.quotas.start(self.cache)
        await rbac_bootstrap.reconcile(self.objects)
        if self.authorizer is not None:
            await self.authorizer.rbac.start(timed, self.cache)
        await self.node_graph_feed.start(self.cache)
        await self.pod_security.start(self.cache)
        self.authenticator = TokenAuthenticator(cfg.data_dir / "auth") if cfg.tls else None
        if self.authenticator is not None:
            self.bound_objects = BoundObjects(timed)
            await self.bound_objects.start(self.cache)
            self.authenticator.bound = self.bound_objects
        self.join = JoinService(cfg.data_dir, cfg.data_dir / "tls", cfg.token) if cfg.tls else None
        self.proxy = KubeletProxy(self.objects, cfg.data_dir / "tls") if cfg.tls else None
        self.metrics_api = MetricsApi(self.objects, cfg.data_dir / "tls" if cfg.tls else None)
        self.dashboard = Dashboard(timed, self.metrics_api.summaries, self.authorizer,
                                   interval=cfg.dashboard_sample_interval)
        self.handlers = ResourceHandlers(self.objects, self.cache, subresources=self.proxy)
        if self.authenticator is not None:  # TokenRequests are signed with the key auth checks
            self.handlers.token_issuer = self.authenticator.issuer  # type: ignore[attr-defined]
        self.handlers.authorizer = self.authorizer  # type: ignore[attr-defined]  # the access reviews ask it
        app = build_app(
            self.handlers, self.authenticator, self.metrics,
            ready=lambda: self._ready,
            extra_metrics=self._gauges,
            metrics_api=self.metrics_api,
            join=self.join,
            authorizer=self.authorizer,
            guards=[self.node_restriction.guard],
            encryption=self.encryption,
            audit=self.audit,
            dashboard=self.dashboard,
        )
        if self.join is not None:  # joining servers: the bootstrap data and etcd members
            ServerJoin(cfg.data_dir, self.join, self.etcd).add_routes(app.router)
        if self.audit is not None:
            self.audit.start()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        ssl_ctx = None
        if cfg.tls:
            assert self.join is not None
            # In-cluster clients reach it as https://kubernetes.default.svc (the ClusterIP).
            extra = [*cfg.tls_sans, self.advertise_ip]
            crt, key = ensure_serving_cert(cfg.data_dir / "tls", apiserver_hosts(cfg.host, extra, cfg.service_cidr))
            # Client certificates are optional (kubectl uses its token) and verified against
            # the client CA only: a verified one is the request's user (apiserver/auth.py).
            ssl_ctx = tls.server_context(crt, key, client_ca=self.join.client_ca_file)
        site = web.TCPSite(self._runner, cfg.host, cfg.port, ssl_context=ssl_ctx, reuse_address=True)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # the bound port when listening on :0
        if sockets:
            self.port = sockets[0].getsockname()[1]
        else:
            self.port = cfg.port
        await self._listen_locally()
        self._reaper = EventReaper(self.objects, cfg.event_ttl)
        self._reaper.start()
        self.write_kubeconfig()
        self._ready = True
        self._start_kubernetes_service()
        if cfg.tls and self.dashboard is not None and self.cache is not None:
            await self.dashboard.start(self.cache)  # kubelets' stats need the client certificate
        if cfg.controllers:
            self._start_controllers()
        if self.etcd is not None:  # `kubectl delete node` removes that machine's etcd member
            self._member_removal = MemberRemoval(self._loopback_client("kubelite-etcd"), self.etcd)
            self._member_removal.start()
        if self.etcd is not None and not cfg.snapshots.disabled:
            directory = cfg.snapshots.directory or etcd_layout.default_snapshot_dir(cfg.data_dir)
            cfg.snapshots.member = cfg.snapshots.member or etcd_layout.member_name(cfg.data_dir)
            self._snapshots = SnapshotSchedule(self.etcd.client_url, directory, cfg.snapshots)
            self._snapshots.start()
        log.info("kubelite API server listening on %s", self.url)

    async def _listen_locally(self) -> None:
        """Plain HTTP on DATA_DIR/api.sock (mode 0600; the same authentication) for this host's
        own control loops: no TLS to pay on either side. Skipped when the path is too long."""
        path = self.config.data_dir / SOCKET_NAME
        if len(os.fsencode(path)) > MAX_SOCKET_PATH:
            return
        assert self._runner is not None
        site = web.UnixSite(self._runner, str(path))
        await site.start()
        path.chmod(0o600)
        self.socket_path = path

    def _gauges(self) -> dict[str, float]:
        cache = self.cache
        return {
            "apiserver_watch_cache_revision": float(cache.revision if cache else 0),
            "apiserver_registered_watchers": float(cache.watcher_count if cache else 0),
            "kubelite_watch_cache_lists_served": float(cache.lists_served if cache else 0),
            "kubelite_watch_cache_lists_fallen_back": float(cache.lists_fallen_back if cache else 0),
        }

    def kubeconfig(self) -> dict[str, object]:
        """The admin kubeconfig: the cluster CA and a client certificate for `kubelite-admin`
        in `system:masters`, as kubeadm's admin.conf and k3s' k3s.yaml carry (no token)."""
        if not self.config.tls:
            return kubeconfig.build(self.url, None, "admin", {})
        tls_dir = self.config.data_dir / "tls"
        cert, key = client_certs.ensure_admin(tls_dir)
        return kubeconfig.build(self.url, (tls_dir / "ca.crt").read_bytes(), "admin",
                                kubeconfig.client_certificate(cert, key))

    def write_kubeconfig(self) -> None:
        path = self.kubeconfig_path
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(self.kubeconfig(), sort_keys=False))
        tmp.chmod(0o600)
        tmp.replace(path)

    def internal_client(self) -> ApiClient:
        """A client of this server for the in-process controllers (the same HTTP API as everyone)."""
        if not self.config.tls:
            return ApiClient(self.url)
        assert self.authenticator is not None
        return ApiClient(
            self.url, token=self.authenticator.admin_token,
            ca_file=str(self.config.data_dir / "tls" / "ca.crt"), user_agent="kubelite-controller-manager",
        )

    def _loopback_client(self, user_agent: str) -> ApiClient:
        """A client of this server for its own control loops: over the local socket if any."""
        if self.socket_path is None:
            return self.internal_client()
        token = self.authenticator.admin_token if self.authenticator is not None else None
        return ApiClient(f"{UNIX_SCHEME}{self.socket_path}", token=token, user_agent=user_agent)

    def _start_kubernetes_service(self) -> None:
        assert self.store is not None
        self._kubernetes_service = KubernetesServiceController(
            self._loopback_client("kubelite-apiserver"), StoreLeases(self.store),
            service_cidr=self.config.service_cidr, advertise_ip=self.advertise_ip, port=self.port)
        self._kubernetes_service.start()

    def _start_controllers(self) -> None:
        cfg = self.config
        settings = ControllerSettings(
            cluster_cidr=cfg.cluster_cidr, scheduler=cfg.scheduler,
            node_monitor_grace_period=cfg.node_monitor_grace_period,
            node_monitor_period=cfg.node_monitor_period, pod_eviction_timeout=cfg.pod_eviction_timeout,
            terminated_pod_gc_threshold=cfg.terminated_pod_gc_threshold,
            hpa_sync_period=cfg.hpa_sync_period,
            hpa_downscale_stabilization=cfg.hpa_downscale_stabilization,
            leader_elect=cfg.leader_elect, leader_elect_lease_duration=cfg.leader_elect_lease_duration,
            leader_elect_renew_deadline=cfg.leader_elect_renew_deadline,
            leader_elect_retry_period=cfg.leader_elect_retry_period,
            # over the local socket the client trusts no CA: name the cluster's
            root_ca_file=str(cfg.data_dir / "tls" / "ca.crt") if cfg.tls else None,
        )
        if cfg.controllers_in_process:
            from kubelite.controllers.manager import ControllerManager

            self._controllers = ControllerManager(self.internal_client(), settings)
            self._controllers.start()
            return
        server = f"{UNIX_SCHEME}{self.socket_path}" if self.socket_path else self.url
        flags = settings.as_flags()
        if self.authenticator is not None:  # no TLS on the local socket, so no certificate: the token
            auth = self.authenticator
            if cfg.component_identities:  # each its own least-privilege identity
                flags += ["--token-file", str(auth.controller_manager_token_path),
                          "--scheduler-token-file", str(auth.scheduler_token_path),
                          "--use-service-account-credentials"]
            else:
                flags += ["--token-file", str(self.config.data_dir / "auth" / "admin-token")]
        if cfg.leader_elect:  # a restarted child is the same candidate: it resumes at once
            flags += ["--leader-elect-identity", self.leader_identity]
        self._controller_process = ControllerManagerProcess(self.kubeconfig_path, server, flags)
        self._controller_process.start()

    def kill_children(self) -> None:
        """Kill the child processes now (before a forced exit; safe from any thread)."""
        if self._controller_process is not None:
            self._controller_process.kill()
        if self.etcd is not None:
            self.etcd.kill()

    async def stop(self) -> None:
        self._ready = False
        if self._snapshots is not None:
            await self._snapshots.stop()
        if self._member_removal is not None:
            await self._member_removal.stop()
        if self._kubernetes_service is not None:
            await self._kubernetes_service.stop()
            await self._kubernetes_service.client.close()
        if self._controllers is not None:
            await self._controllers.stop()
        if self._controller_process is not None:
            await self._controller_process.stop()
        if self._reaper:
            await self._reaper.stop()
        if self.dashboard is not None:
            await self.dashboard.stop()
        if self.objects is not None:
            await self.system_namespaces.stop()
            await self.custom_resources.stop()
            await self.namespace_lifecycle.stop()
            await self.limit_ranges.stop()
            await self.quotas.stop()
            await self.priority.classes.stop()
            if self.authorizer is not None:
                await self.authorizer.rbac.stop()
            await self.node_graph_feed.stop()
            await self.pod_security.stop()
            if self.authenticator is not None:
                await self.bound_objects.stop()
        if self.cache:  # ends every watch, so the listener need not wait for them to close
            await self.cache.stop()
        if self._runner:
            await self._runner.cleanup()
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)
        if self.audit is not None:  # after the listener: the last requests' events are written
            self.audit.close()
        if self.proxy is not None:
            await self.proxy.close()
        if self.metrics_api is not None:
            await self.metrics_api.close()
        if self.store:
            await self.store.close()
        if self.etcd is not None:  # last: everything above may still write
            await self.etcd.stop()

    async def serve_forever(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()


def audit_from(config: ServerConfig) -> Auditor | None:
    """The audit log the flags ask for: both a policy and a path, as kube-apiserver needs."""
    if not config.audit_policy_file or not config.audit_log_path:
        return None
    writer = AuditWriter(config.audit_log_path, config.audit_log_maxsize, config.audit_log_maxbackup,
                         config.audit_log_maxage)
    return Auditor(audit_policy.load(Path(config.audit_policy_file)), writer)
