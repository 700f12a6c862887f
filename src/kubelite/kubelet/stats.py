"""The kubelet's resource usage figures: per container from its cgroup, per node from /proc.

`StatsProvider.summary()` answers in the shape of the kubelet's Summary API
(`GET /stats/summary`, k8s.io/kubelet/pkg/apis/stats/v1alpha1), which is what the API
server's metrics.k8s.io reads. CPU is cumulative in the cgroup; a rate (`usageNanoCores`)
needs two samples, so the provider keeps the previous sample of every cgroup and computes
the rate over at least `MIN_WINDOW` seconds. A background sweep every `SWEEP_INTERVAL`
keeps a previous sample ready; if a request finds none, it samples twice.

Memory is the working set (usage minus inactive file cache), as cAdvisor reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kubelite.runtime import cgroups

if TYPE_CHECKING:
    from kubelite.kubelet.kubelet import Kubelet

MIN_WINDOW = 0.5
SWEEP_INTERVAL = 5.0
USER_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class ContainerRef:
    """One running container instance and the cgroup it runs in."""

    name: str
    cgroup: str
    start_time: str = ""
    memory_request: int = 0


@dataclass
class PodRef:
    name: str
    namespace: str
    uid: str
    start_time: str = ""
    containers: list[ContainerRef] = field(default_factory=list)


@dataclass
class NodeSample:
    cpu_usage_ns: int
    memory_total: int
    memory_available: int
    memory_free: int


def rfc3339(t: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if t is None else t, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def read_node_sample(proc: str = "/proc") -> NodeSample:
    """CPU time of the whole machine (busy, not idle or iowait) and its memory."""
    with open(os.path.join(proc, "stat")) as f:
        fields = f.readline().split()[1:]
    ticks = [int(x) for x in fields]
    # user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait.
    busy = sum(ticks[:8]) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)
    mem: dict[str, int] = {}
    with open(os.path.join(proc, "meminfo")) as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                mem[key] = int(parts[0]) * 1024
    return NodeSample(cpu_usage_ns=busy * (10**9 // USER_HZ), memory_total=mem.get("MemTotal", 0),
                      memory_available=mem.get("MemAvailable", 0),
                      memory_free=mem.get("MemFree", 0))


def boot_time(proc: str = "/proc") -> float:
    with contextlib.suppress(OSError, ValueError), open(os.path.join(proc, "stat")) as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    return time.time()


class CpuRates:
    """usageNanoCores from cumulative CPU nanoseconds, per key."""

    def __init__(self, min_window: float = MIN_WINDOW) -> None:
        self.min_window = min_window
        self._base: dict[str, tuple[float, int]] = {}
        self._rate: dict[str, int] = {}

    def observe(self, key: str, now: float, usage_ns: int) -> int | None:
        """The rate as of this sample, or the last known rate when the window is too short;
        None before a rate is known."""
        base = self._base.get(key)
        if base is None or usage_ns < base[1]:  # first sample, or a counter that restarted
            self._base[key] = (now, usage_ns)
            self._rate.pop(key, None)
            return None
        elapsed = now - base[0]
        if elapsed >= self.min_window:
            self._rate[key] = int((usage_ns - base[1]) / elapsed)
            self._base[key] = (now, usage_ns)
        return self._rate.get(key)

    def known(self, key: str) -> bool:
        return key in self._base

    def forget_except(self, keys: set[str]) -> None:
        for k in [k for k in self._base if k not in keys]:
            self._base.pop(k, None)
            self._rate.pop(k, None)


class StatsProvider:
    """Sweeps cgroups of the node's running containers into Summary API documents."""

    def __init__(self, node_name: str, pods: Callable[[], list[PodRef]], *,
                 read_cgroup: Callable[[str], cgroups.CgroupStats] | None = None,
                 read_node: Callable[[], NodeSample] = read_node_sample,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.node_name = node_name
        self.pods = pods
        self._hiers: list[cgroups.Hierarchy] | None = None
        self.read_cgroup = read_cgroup or self._read_cgroup
        self.read_node = read_node
        self.clock = clock
        self.rates = CpuRates()
        self.boot = rfc3339(boot_time())
        self._task: asyncio.Task[None] | None = None

    def _read_cgroup(self, path: str) -> cgroups.CgroupStats:
        if self._hiers is None:
            self._hiers = cgroups.hierarchies()
        return cgroups.read_stats(path, self._hiers)

    # -- one sweep ----------------------------------------------------------------------

    def sweep(self) -> dict[str, Any]:
        """One pass over every container: the Summary document (synchronous file reads)."""
        now = self.clock()
        stamp = rfc3339()
        node = self.read_node()
        node_rate = self.rates.observe("/node", now, node.cpu_usage_ns)
        pods_out: list[dict[str, Any]] = []
        seen = {"/node"}
        for ref in self.pods():
            containers = []
            pod_cpu, pod_rate, pod_mem, pod_ws, rated = 0, 0, 0, 0, True
            for c in ref.containers:
                st = self.read_cgroup(c.cgroup)
                if st.pids == 0 and st.cpu_usage_ns == 0:
                    continue  # gone or not started
                seen.add(c.cgroup)
                rate = self.rates.observe(c.cgroup, now, st.cpu_usage_ns)
                rated = rated and rate is not None
                cpu = {"time": stamp, "usageCoreNanoSeconds": st.cpu_usage_ns}
                if rate is not None:
                    cpu["usageNanoCores"] = rate
                containers.append({
                    "name": c.name, "startTime": c.start_time or stamp, "cpu": cpu,
                    "memory": {"time": stamp, "usageBytes": st.memory_usage,
                               "workingSetBytes": st.memory_working_set},
                })
                pod_cpu += st.cpu_usage_ns
                pod_rate += rate or 0
                pod_mem += st.memory_usage
                pod_ws += st.memory_working_set
            if not containers:
                continue
            pod_cpu_doc: dict[str, Any] = {"time": stamp, "usageCoreNanoSeconds": pod_cpu}
            if rated:
                pod_cpu_doc["usageNanoCores"] = pod_rate
            pods_out.append({
                "podRef": {"name": ref.name, "namespace": ref.namespace, "uid": ref.uid},
                "startTime": ref.start_time or stamp,
                "containers": containers,
                "cpu": pod_cpu_doc,
                "memory": {"time": stamp, "usageBytes": pod_mem, "workingSetBytes": pod_ws},
            })
        self.rates.forget_except(seen)
        node_cpu: dict[str, Any] = {"time": stamp, "usageCoreNanoSeconds": node.cpu_usage_ns}
        if node_rate is not None:
            node_cpu["usageNanoCores"] = node_rate
        working_set = max(0, node.memory_total - node.memory_available)
        return {
            "node": {
                "nodeName": self.node_name, "startTime": self.boot, "cpu": node_cpu,
                "memory": {"time": stamp, "availableBytes": node.memory_available,
                           "usageBytes": max(0, node.memory_total - node.memory_free),
                           "workingSetBytes": working_set},
            },
            "pods": pods_out,
        }

    def _needs_second_sample(self, doc: dict[str, Any]) -> bool:
        if "usageNanoCores" not in doc["node"]["cpu"]:
            return True
        return any("usageNanoCores" not in c["cpu"] for p in doc["pods"] for c in p["containers"])

    async def summary(self) -> dict[str, Any]:
        """A Summary with CPU rates for everything (sampling twice if needed)."""
        doc = await asyncio.to_thread(self.sweep)
        if self._needs_second_sample(doc):
            await asyncio.sleep(self.rates.min_window)
            doc = await asyncio.to_thread(self.sweep)
        return doc

    # -- background sweep ---------------------------------------------------------------

    def start(self, interval: float = SWEEP_INTERVAL) -> asyncio.Task[None]:
        async def loop() -> None:
            while True:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.sweep)
                await asyncio.sleep(interval)

        self._task = asyncio.create_task(loop(), name="stats-sweep")
        return self._task


# -- the kubelet's pods as the provider sees them ---------------------------------------------

def kubelet_pods(kubelet: Kubelet) -> list[PodRef]:
    """The latest instance of every container of every pod the kubelet runs."""
    from kubelite.kubelet.pod_status import qos_class

    syncer, runtime = kubelet.syncer, kubelet.runtime
    tree = getattr(runtime, "cgroups", None)
    if syncer is None or not isinstance(tree, cgroups.PodCgroups):
        return []
    out: list[PodRef] = []
    for uid, pod in list(kubelet.pods.items()):
        meta = pod.get("metadata") or {}
        qos: cgroups.QosClass = qos_class(pod)  # type: ignore[assignment]
        latest: dict[str, Any] = {}
        for rec in syncer.records.for_pod(uid):
            if rec.name not in latest or rec.attempt > latest[rec.name].attempt:
                latest[rec.name] = rec
        refs = []
        for rec in latest.values():
            info = syncer._infos.get(rec.id)
            if rec.init or (info is not None and info.exited):
                continue
            refs.append(ContainerRef(name=rec.name, cgroup=tree.container_path(qos, uid, rec.id),
                                     start_time=rfc3339(rec.created_at) if rec.created_at else ""))
        out.append(PodRef(name=meta.get("name", ""), namespace=meta.get("namespace") or "default",
                          uid=uid, start_time=(pod.get("status") or {}).get("startTime", ""),
                          containers=refs))
    return out


def add_routes(server: Any, provider: StatsProvider) -> None:
    """Serve `GET /stats/summary` on the kubelet's HTTPS server (call before it starts)."""
    from aiohttp import web

    async def summary(request: web.Request) -> web.Response:
        doc = await provider.summary()
        return web.Response(body=json.dumps(doc).encode(), content_type="application/json")

    server.add_route("GET", "/stats/summary", summary)


def attach(kubelet: Kubelet) -> StatsProvider:
    """The kubelet's provider; its routes go on `kubelet.server` (which must not have started)."""
    provider = StatsProvider(kubelet.config.node_name, lambda: kubelet_pods(kubelet))
    if kubelet.server is not None:
        add_routes(kubelet.server, provider)
    return provider

