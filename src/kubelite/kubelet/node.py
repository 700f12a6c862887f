"""This machine as a Node: registration, the Lease heartbeat and node status updates.

Capacity is read from the machine (cpu count, MemTotal, the data dir's filesystem, 110 pods);
allocatable is capacity less reservations and the hard eviction threshold (kubelet/eviction.py). The Lease in kube-node-lease is renewed every
10 s (a quarter of its 40 s duration, `--node-lease-duration-seconds`); the node status
(conditions' heartbeat) is rewritten every minute or when it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import shutil
import uuid
from typing import Any

from kubelite.client import AlreadyExists, ApiClient, Forbidden, NotFound
from kubelite.kubelet.pod_status import rfc3339

log = logging.getLogger(__name__)

KUBELET_VERSION = "v1.32.0-kubelite"
NODE_LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40
LEASE_RENEW_FRACTION = 0.25  # the kubelet's nodeLeaseRenewIntervalFraction
# Creating the Lease is retried from 200 ms, doubling up to 7 s (the kubelet's lease controller:
# kube-node-lease may be gone a moment, deleted and not yet re-created by the API server).
LEASE_RETRY_FIRST, LEASE_RETRY_MAX = 0.2, 7.0
STATUS_INTERVAL = 60.0

CONDITIONS = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)


def memory_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def memory_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def capacity(data_dir: str, max_pods: int) -> dict[str, str]:
    disk = shutil.disk_usage(data_dir if os.path.exists(data_dir) else "/")
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{memory_bytes() // 1024}Ki",
        "ephemeral-storage": f"{disk.total // 1024}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "pods": str(max_pods),
    }


def _read(path: str, default: str = "") -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return "Linux"


def runtime_version(runtime: str) -> str:
    import subprocess

    try:
        out = subprocess.run([runtime, "--version"], capture_output=True, text=True, timeout=5)
        first = out.stdout.splitlines()[0] if out.stdout else ""
        version = first.split()[-1] if first else "unknown"
    except (OSError, subprocess.SubprocessError):
        version = "unknown"
    return f"{runtime}://{version}"


def node_info(runtime: str) -> dict[str, str]:
    machine = platform.machine()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    machine_id = _read("/etc/machine-id") or uuid.uuid4().hex
    return {
        "machineID": machine_id,
        "systemUUID": _read("/sys/class/dmi/id/product_uuid") or str(uuid.UUID(machine_id[:32])),
        "bootID": _read("/proc/sys/kernel/random/boot_id"),
        "kernelVersion": platform.release(),
        "osImage": os_image(),
        "containerRuntimeVersion": runtime_version(runtime),
        "kubeletVersion": KUBELET_VERSION,
        "kubeProxyVersion": "",
        "operatingSystem": "linux",
        "architecture": arch,
    }


def default_node_ip(server_url: str) -> str:
    """The node's InternalIP without `--node-ip`: the address of the default route's interface
    (as the kubelet and k3s choose it), else the local address that reaches the API server."""
    from urllib.parse import urlparse

    from kubelite import hostaddr

    return (hostaddr.default_route_address()
            or hostaddr.source_address(urlparse(server_url).hostname or "127.0.0.1")
            or "127.0.0.1")


#: Pressure conditions when True (the eviction manager sets them).
PRESSURE = {
    "MemoryPressure": ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
    "DiskPressure": ("KubeletHasDiskPressure", "kubelet has disk pressure"),
    "PIDPressure": ("KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
}


def conditions(heartbeat: str, transitions: dict[str, str], ready: bool = True,
               pressure: frozenset[str] | set[str] = frozenset()) -> list[dict[str, str]]:
    out = []
    for ctype, reason, message in CONDITIONS:
        status = "False"
        if ctype in pressure:
            status, (reason, message) = "True", PRESSURE[ctype]
        out.append({"type": ctype, "status": status, "reason": reason, "message": message,
                    "lastHeartbeatTime": heartbeat,
                    "lastTransitionTime": transitions.get(ctype, heartbeat)})
    out.append({"type": "Ready", "status": "True" if ready else "False",
                "reason": "KubeletReady" if ready else "KubeletNotReady",
                "message": "kubelet is posting ready status" if ready else "container runtime is down",
                "lastHeartbeatTime": heartbeat,
                "lastTransitionTime": transitions.get("Ready", heartbeat)})
    return out


class NodeAgent:
    """Registers the node, keeps its Lease fresh and its status current."""

    def __init__(self, client: ApiClient, name: str, *, node_ip: str, kubelet_port: int,
                 data_dir: str, runtime: str, max_pods: int = 110,
                 labels: dict[str, str] | None = None, lease_duration: int = LEASE_DURATION) -> None:
        self.client = client
        self.lease_duration = lease_duration
        self.name = name
        self.node_ip = node_ip
        self.kubelet_port = kubelet_port
        self.data_dir = data_dir
        self.runtime = runtime
        self.max_pods = max_pods
        self.labels = labels or {}
        self.pod_cidr = ""
        self._transitions: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._info = node_info(runtime)
        self.capacity = capacity(data_dir, max_pods)
        self.allocatable = dict(self.capacity)  # less reservations: kubelet/eviction.py
        self.pressure: set[str] = set()

    def set_pressure(self, ctype: str, on: bool) -> bool:
        """Turn a pressure condition on or off; whether it changed."""
        if (ctype in self.pressure) == on:
            return False
        (self.pressure.add if on else self.pressure.discard)(ctype)
        self._transitions[ctype] = rfc3339()
        return True

    def status(self) -> dict[str, Any]:
        now = rfc3339()
        return {
            "capacity": dict(self.capacity),
            "allocatable": dict(self.allocatable),
            "conditions": conditions(now, self._transitions, pressure=self.pressure),
            "addresses": [{"type": "InternalIP", "address": self.node_ip},
                          {"type": "Hostname", "address": self.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.kubelet_port}},
            "nodeInfo": self._info,
        }

    def node(self) -> dict[str, Any]:
        machine = platform.machine()
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
        labels = {
            "beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch, "kubernetes.io/hostname": self.name,
            "kubernetes.io/os": "linux", **self.labels,
        }
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.name, "labels": labels}, "spec": {}}

    async def register(self) -> dict[str, Any]:
        """Create the Node (or take over an existing one) and write its status."""
        try:
            node: dict[str, Any] = await self.client.create("nodes", self.node(), raw=True)
        except AlreadyExists:
            node = await self.client.patch("nodes", self.name, None,
                                           {"metadata": {"labels": self.node()["metadata"]["labels"]}},
                                           raw=True)
        for cond in (node.get("status") or {}).get("conditions") or []:
            if cond.get("lastTransitionTime") and cond.get("status") == (
                    "True" if cond["type"] == "Ready" else "False"):
                self._transitions[cond["type"]] = cond["lastTransitionTime"]
        now = rfc3339()
        for ctype in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready"):
            self._transitions.setdefault(ctype, now)
        await self.update_status()
        await self.renew_lease()
        self.pod_cidr = (node.get("spec") or {}).get("podCIDR") or ""
        return node

    async def wait_pod_cidr(self, timeout: float = 30.0) -> str:
        """The node's spec.podCIDR, once the control plane has set it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            node = await self.client.get("nodes", self.name, raw=True)
            cidr = (node.get("spec") or {}).get("podCIDR") or ""
            if cidr:
                self.pod_cidr = cidr
                return cidr
            if loop.time() > deadline:
                raise TimeoutError(
                    f"node {self.name} has no spec.podCIDR after {timeout:.0f}s: is the server "
                    "running the node-ipam controller (--cluster-cidr)?")
            await asyncio.sleep(0.2)

    async def update_status(self) -> None:
        await self.client.patch("nodes", self.name, None, {"status": self.status()},
                                patch_type="merge", subresource="status", raw=True)

    async def renew_lease(self) -> None:
        now = rfc3339_micro()
        try:
            lease = await self.client.get("leases", self.name, NODE_LEASE_NAMESPACE, raw=True)
        except NotFound:
            body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": NODE_LEASE_NAMESPACE,
                                 "ownerReferences": []},
                    "spec": {"holderIdentity": self.name, "leaseDurationSeconds": self.lease_duration,
                             "renewTime": now}}
            await self._create_lease(body)
            return
        lease.setdefault("spec", {})
        lease["spec"].update({"holderIdentity": self.name,
                              "leaseDurationSeconds": self.lease_duration, "renewTime": now})
        await self.client.update("leases", lease, raw=True)

    async def _create_lease(self, body: dict[str, Any]) -> None:
        """Create the Lease, retrying with backoff while its namespace is missing or being
        deleted (a 404 or 403), as the kubelet's backoffEnsureLease does."""
        delay = LEASE_RETRY_FIRST
        while True:
            try:
                with contextlib.suppress(AlreadyExists):
                    await self.client.create("leases", body, NODE_LEASE_NAMESPACE, raw=True)
                return
            except (NotFound, Forbidden) as e:
                log.warning("creating the node lease failed, retrying in %.1fs: %s", delay, e)
            await asyncio.sleep(delay)
            delay = min(delay * 2, LEASE_RETRY_MAX)
            body["spec"]["renewTime"] = rfc3339_micro()

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._loop(self.renew_lease,
                                                          self.lease_duration * LEASE_RENEW_FRACTION),
                                               name="node-lease"))
        self._tasks.append(asyncio.create_task(self._loop(self.update_status, STATUS_INTERVAL),
                                               name="node-status"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()

    async def _loop(self, step: Any, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - next beat retries
                log.warning("node heartbeat (%s) failed: %s", step.__name__, e)


def rfc3339_micro() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
