"""`RuntimeService` over this machine: runc under conmon, pinned namespaces, CNI, images.

Every name comes from the cluster's `HostNames`, so this cluster's sandboxes, containers,
bridge and cgroups are its own. Container rootfs overlays live in the data dir
(`agent/rootfs/<id>`) and bundles in `agent/bundles/<id>`, so both survive an agent restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from kubelite.kubelet.config import AgentConfig
from kubelite.kubelet.image_user import resolve_in_root
from kubelite.kubelet.records import ContainerInfo, ContainerRecord
from kubelite.kubelet.runtime_service import ImageInfo, SandboxInfo, SandboxSpec
from kubelite.kubelet.safepath import open_process_root
from kubelite.runtime import cgroups
from kubelite.runtime.attach import AttachSession
from kubelite.runtime.attach import attach as attach_container
from kubelite.runtime.cni import CniError, CniNetwork, PortMapping, teardown_network
from kubelite.runtime.exec import ExecSession, exec_process
from kubelite.runtime.images import ImageStore, mount_rootfs, unmount
from kubelite.runtime.oci import ContainerNotFoundError, OciRuntime
from kubelite.runtime.sandbox import DnsConfig, SandboxConfig, SandboxManager
from kubelite.runtime.sandbox import SandboxInfo as RtSandbox
from kubelite.runtime.spec import ContainerConfig, build_spec

QOS_CLASSES: tuple[cgroups.QosClass, ...] = ("Guaranteed", "Burstable", "BestEffort")


def sandbox_config(spec: SandboxSpec, cluster_domain: str) -> SandboxConfig:
    """The runtime's sandbox settings for a pod. resolv.conf is always the kubelet's own
    (dnsPolicy Default already copied the node's): dnsPolicy None without dnsConfig gives
    an empty file, as in Kubernetes."""
    fqdn = ""
    if spec.subdomain:
        fqdn = f"{spec.hostname}.{spec.subdomain}.{spec.namespace}.svc.{cluster_domain}"
    return SandboxConfig(
        name=spec.pod_uid, hostname=spec.hostname, fqdn=fqdn,
        host_network=spec.host_network, host_ipc=spec.host_ipc,
        share_pid=spec.share_process_namespace and not spec.host_pid,
        dns=DnsConfig(spec.dns_servers, spec.dns_searches, spec.dns_options),
        host_aliases=[(a.get("ip", ""), list(a.get("hostnames") or []))
                      for a in spec.host_aliases],
    )


class HostRuntime:
    """The pod workers' runtime on a real machine."""

    def __init__(self, config: AgentConfig, pod_cidr: str, node_ip: str,
                 images: ImageStore | None = None, *, mtu: int = 1500) -> None:
        names = config.names
        self.config = config
        self.node_ip = node_ip
        self.runtime_name = os.path.basename(config.runtime)
        self.oci = OciRuntime(config.runtime, os.path.join(names.run_dir, "runtime"))
        self.sandboxes = SandboxManager(f"kl-{config.cluster_id}",
                                        os.path.join(names.run_dir, "sandboxes"))
        self.network = CniNetwork(names.bridge, pod_cidr, names.ipam_dir,
                                  service_cidr=config.service_cidr,
                                  cluster_cidr=config.cluster_cidr,
                                  network_name=names.cni_network, mtu=mtu)
        self.images = images or ImageStore(names.images_dir, registries=config.registries_file)
        self.cgroups = cgroups.PodCgroups(names.cgroup_root)
        self.rootfs_dir = os.path.join(names.kubelet_dir, "rootfs")
        self.bundles_dir = os.path.join(names.kubelet_dir, "bundles")
        self._locks: dict[str, asyncio.Lock] = {}
        self._image_refs: dict[str, str] = {}  # container id -> image reference in use
        self._networks: dict[str, asyncio.Task[SandboxInfo]] = {}  # CNI ADD under way
        # NetworkPolicy's hooks (kubelet.py): a new pod address is classified before any
        # container of the pod starts, and forgotten with its sandbox.
        self.on_pod_ip: Callable[[str, str], Awaitable[None]] | None = None
        self.on_sandbox_removed: Callable[[str], None] | None = None

    async def setup(self) -> None:
        os.makedirs(self.rootfs_dir, exist_ok=True)
        os.makedirs(self.bundles_dir, exist_ok=True)
        await asyncio.to_thread(self.cgroups.ensure_root)
        await self.network.setup()

    # -- sandboxes --------------------------------------------------------------------------

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def _to_info(self, sb: RtSandbox) -> SandboxInfo:
        host_net = bool(sb.config and sb.config.host_network)
        return SandboxInfo(
            pod_uid=sb.name, ip=self.node_ip if host_net else sb.pod_ip,
            netns=sb.netns_path or None, ipc=sb.ipc_path or None, uts=sb.uts_path or None,
            pid=sb.pid_path or None, shm_dir=sb.shm_dir or None, etc_hosts=sb.hosts_path or None,
            etc_hostname=sb.hostname_path or None, resolv_conf=sb.resolv_path or None,
        )

    async def ensure_sandbox(self, spec: SandboxSpec, *, wait_network: bool = True
                             ) -> SandboxInfo:
        """The pod's sandbox, made unless it exists. With `wait_network=False` the namespaces
        are returned as soon as they exist (ip still empty) and CNI runs meanwhile, so
        containers can be created alongside; `sandbox_network` waits for it."""
        async with self._lock(spec.pod_uid):
            pending = self._networks.get(spec.pod_uid)
            existing = self.sandboxes.load(spec.pod_uid)
            early: SandboxInfo | None
            if pending is None and existing is not None and existing.config is not None and (
                    existing.pod_ip or existing.config.host_network):
                return self._to_info(existing)
            if pending is None:
                if existing is not None:  # half made (agent died while creating it)
                    await self._remove_sandbox(spec.pod_uid)
                sb = await self.sandboxes.create_sandbox(self._sandbox_config(spec))
                if sb.config is not None and sb.config.host_network:
                    return self._to_info(sb)
                pending = asyncio.create_task(self._add_network(spec, sb.netns_path))
                self._networks[spec.pod_uid] = pending
                early = self._to_info(sb)
            else:
                early = self._to_info(existing) if existing is not None else None
        if wait_network or early is None:
            info = await self.sandbox_network(spec.pod_uid)
            assert info is not None
            return info
        return early

    def _sandbox_config(self, spec: SandboxSpec) -> SandboxConfig:
        return sandbox_config(spec, self.config.cluster_domain)

    async def _add_network(self, spec: SandboxSpec, netns_path: str) -> SandboxInfo:
        """CNI ADD, then the IP into the sandbox; on failure the whole sandbox goes."""
        ports = [PortMapping(p["hostPort"], p["containerPort"], p["protocol"],
                             p.get("hostIP", "")) for p in spec.port_mappings]
        try:
            ip = await self.network.add(spec.pod_uid, netns_path, ports)
            if self.on_pod_ip is not None:
                await self.on_pod_ip(spec.pod_uid, ip)
            return self._to_info(await self.sandboxes.set_pod_ip(spec.pod_uid, ip))
        except BaseException:
            async with self._lock(spec.pod_uid):
                await self._remove_sandbox(spec.pod_uid)
            raise

    async def sandbox_network(self, pod_uid: str) -> SandboxInfo | None:
        """Wait for the pod's network (CNI ADD) started by `ensure_sandbox`; None if none is
        under way. Raises what CNI raised (the sandbox is gone then)."""
        task = self._networks.get(pod_uid)
        if task is None:
            return None
        try:
            return await asyncio.shield(task)
        finally:
            if task.done() and self._networks.get(pod_uid) is task:
                del self._networks[pod_uid]

    async def _remove_sandbox(self, pod_uid: str) -> None:
        sb = self.sandboxes.load(pod_uid)
        if sb is None or not (sb.config and sb.config.host_network):
            with contextlib.suppress(CniError, OSError):
                await self.network.delete(pod_uid, sb.netns_path if sb else "")
        await self.sandboxes.destroy_sandbox(pod_uid)
        if self.on_sandbox_removed is not None:
            self.on_sandbox_removed(pod_uid)

    async def remove_sandbox(self, pod_uid: str) -> None:
        pending = self._networks.pop(pod_uid, None)
        if pending is not None:
            pending.cancel()
        async with self._lock(pod_uid):
            await self._remove_sandbox(pod_uid)
            for qos in QOS_CLASSES:
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(self.cgroups.remove_pod, qos, pod_uid)
        self._locks.pop(pod_uid, None)

    async def sandbox_uids(self) -> set[str]:
        return {sb.name for sb in self.sandboxes.find_sandboxes()}

    # -- images -----------------------------------------------------------------------------

    async def pull_image(self, image: str, policy: str,
                         credentials: Iterable[dict[str, Any]] = ()) -> ImageInfo:
        present = self.images.get(image)
        record = await self.images.pull(image, policy=policy, credentials=list(credentials))
        return ImageInfo(name=record.reference, ref=record.repo_digest,
                         config=self.images.image_config(record),
                         pulled=present is None or policy == "Always", size=record.size)

    def in_use_images(self) -> set[str]:
        return set(self._image_refs.values())

    # -- containers -------------------------------------------------------------------------

    def _paths(self, cid: str) -> tuple[str, str]:
        return os.path.join(self.rootfs_dir, cid), os.path.join(self.bundles_dir, cid)

    async def create_container(self, record: ContainerRecord, config: ContainerConfig,
                               image: ImageInfo, pod_qos: str) -> None:
        img = self.images.get(image.name)
        if img is None:
            raise RuntimeError(f'image "{image.name}" is no longer on this node')
        root, bundle = self._paths(record.id)
        merged = os.path.join(root, "merged")
        await asyncio.to_thread(mount_rootfs, self.images.layer_dirs(img),
                                os.path.join(root, "upper"), os.path.join(root, "work"), merged)
        qos: cgroups.QosClass = pod_qos if pod_qos in QOS_CLASSES else "BestEffort"  # type: ignore[assignment]
        config.rootfs = merged
        try:
            if config.user:
                who = await asyncio.to_thread(resolve_in_root, config.user, merged)
                config.uid, config.gid = who.uid, who.gid
                config.additional_gids = list(dict.fromkeys(
                    [*who.additional_gids, *config.additional_gids]))
        except BaseException:
            await asyncio.to_thread(self._remove_files, record.id)
            raise
        config.cgroups_path = self.cgroups.container_path(qos, record.pod_uid, record.id)
        try:
            await self.oci.create(record.id, bundle, build_spec(config), record.log_path,
                                  stdin=config.stdin, stdin_once=config.stdin_once)
        except BaseException:
            await asyncio.to_thread(self._remove_files, record.id)
            raise
        self._image_refs[record.id] = img.reference

    def _remove_files(self, cid: str) -> None:
        root, bundle = self._paths(cid)
        with contextlib.suppress(OSError):
            unmount(os.path.join(root, "merged"))
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(bundle, ignore_errors=True)

    async def start_container(self, cid: str) -> None:
        await self.oci.start(cid)

    async def container_info(self, record: ContainerRecord) -> ContainerInfo:
        try:
            st = await self.oci.state(record.id)
        except ContainerNotFoundError:
            return ContainerInfo(record, "stopped", exit_code=None,
                                 finished_at=None, message="")
        if st.status != "stopped":
            self._image_refs.setdefault(record.id, record.image_name)
        return ContainerInfo(record, st.status, exit_code=st.exit_code,
                             started_at=st.started_at, finished_at=st.finished_at,
                             oom_killed=st.oom_killed, pid=st.pid)

    async def wait_container(self, cid: str) -> None:
        try:
            await self.oci.wait(cid)
        except ContainerNotFoundError:
            return

    async def kill_container(self, cid: str, signal: int) -> None:
        with contextlib.suppress(ContainerNotFoundError):
            await self.oci.kill(cid, signal)

    async def remove_container(self, record: ContainerRecord) -> None:
        await self.oci.delete(record.id, force=True)
        await asyncio.to_thread(self._remove_files, record.id)
        self._image_refs.pop(record.id, None)

    async def container_ids(self) -> set[str]:
        return {st.id for st in await self.oci.list()}

    async def exec(self, cid: str, argv: list[str], *, tty: bool = False,
                   stdin: bool = False) -> ExecSession:
        return await exec_process(self.oci, cid, argv, tty=tty, stdin=stdin)

    async def attach(self, cid: str) -> AttachSession:
        """The container's streams through conmon (stdin reaches it if it has `stdin: true`)."""
        return await attach_container(self.bundle(cid))

    async def exec_sync(self, cid: str, argv: list[str], timeout: float) -> tuple[int, bytes]:
        session = await exec_process(self.oci, cid, argv)
        code, out, err = await session.communicate(timeout=timeout)
        return code, out + err

    def rootfs(self, cid: str) -> str:
        return os.path.join(self.rootfs_dir, cid, "merged")

    async def open_root(self, cid: str) -> int:
        """An O_PATH descriptor of the running container's `/` as its processes see it (its
        volumes and read-only mounts included), for work the kubelet does inside it."""
        st = await self.oci.state(cid)
        if st.status != "running" or not st.pid:
            raise ValueError(f"container {cid} is not running")
        return await asyncio.to_thread(open_process_root, st.pid, self.rootfs(cid))

    def bundle(self, cid: str) -> str:
        return os.path.join(self.bundles_dir, cid)

    # -- whole-cluster cleanup --------------------------------------------------------------

    async def teardown(self) -> None:
        """Remove every container, sandbox, the bridge, the cgroup root, the service proxy's
        nft table, NetworkPolicy's table and the pod network (vxlan device, routes, NAT) of
        this cluster."""
        from kubelite.kubelet.node_services import remove_pod_network, remove_proxy_rules
        from kubelite.network.policy import remove_table

        await remove_proxy_rules(self.config)
        await remove_table(self.config.names.policy_table)
        await remove_pod_network(self.config)
        for st in await self.oci.list():
            with contextlib.suppress(Exception):
                await self.oci.delete(st.id, force=True)
            await asyncio.to_thread(self._remove_files, st.id)
        for sb in self.sandboxes.find_sandboxes():
            await self._remove_sandbox(sb.name)
        from kubelite.kubelet.volumes.syscalls import unmount_tree

        await asyncio.to_thread(unmount_tree, self.config.names.pods_dir)  # tmpfs, subPath binds
        with contextlib.suppress(CniError):
            await teardown_network(self.config.names.bridge)
        deadline = time.monotonic() + 3
        while True:
            try:
                await asyncio.to_thread(self.cgroups.remove_root)
                break
            except OSError:
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.1)
