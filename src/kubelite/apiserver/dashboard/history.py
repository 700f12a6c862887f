"""Utilization history: a bounded ring of samples per node and per pod, taken from the
kubelets' summary stats (the same figures `kubectl top` reads through metrics.k8s.io).

One clock ring is shared by every series (a sample time per slot); each series keeps its
CPU (cores) and memory (working set, bytes) in float32 arrays aligned with that ring, NaN
where it had no sample, and its current requests and limits; a pod's series and the cluster's
also keep their containers' restarts. 24 h at 15 s is 5,760 slots: 46 KiB per node, 69 KiB
per pod, so 1,000 pods cost about 69 MiB; the number of series is capped and a
series with no sample left in the window is dropped.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelite.api.quantity import QuantityError, parse_quantity

DEFAULT_INTERVAL = 15.0
DEFAULT_WINDOW = 24 * 3600.0
MAX_SERIES = 5000
NAN = math.nan


@dataclass
class Resources:
    """CPU in cores and memory in bytes a pod requests and is limited to (0: none set);
    for a node, what it can allocate."""

    cpu_request: float = 0.0
    cpu_limit: float = 0.0
    memory_request: float = 0.0
    memory_limit: float = 0.0


@dataclass
class Series:
    """One node's or one pod's samples, aligned with the history's clock ring."""

    kind: str  # "node", "pod" or "cluster"
    namespace: str
    name: str
    cpu: array  # type: ignore[type-arg]
    memory: array  # type: ignore[type-arg]
    resources: Resources = field(default_factory=Resources)
    restarts: array | None = None  # type: ignore[type-arg]  # a pod's and the cluster's
    node: str = ""
    last_seen: float = 0.0


def _quantity(raw: Any, milli: bool) -> float:
    try:
        q = parse_quantity(raw)
    except (QuantityError, TypeError, ValueError):
        return 0.0
    return q.milli_value() / 1000.0 if milli else float(q.value())


def pod_resources(pod: dict[str, Any]) -> Resources:
    """The sums over a pod's containers of their requests and limits (a limit counts only if
    every container sets one, as a pod without one is unbounded)."""
    r = Resources()
    containers = (pod.get("spec") or {}).get("containers") or []
    cpu_limited = mem_limited = bool(containers)
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        r.cpu_request += _quantity(req.get("cpu", lim.get("cpu", 0)), True)
        r.memory_request += _quantity(req.get("memory", lim.get("memory", 0)), False)
        cpu_limited = cpu_limited and "cpu" in lim
        mem_limited = mem_limited and "memory" in lim
        r.cpu_limit += _quantity(lim.get("cpu", 0), True)
        r.memory_limit += _quantity(lim.get("memory", 0), False)
    if not cpu_limited:
        r.cpu_limit = 0.0
    if not mem_limited:
        r.memory_limit = 0.0
    return r


def node_resources(node: dict[str, Any]) -> Resources:
    """A node's allocatable, as both its "request" (what pods may ask) and its limit."""
    alloc = (node.get("status") or {}).get("allocatable") or {}
    cpu, mem = _quantity(alloc.get("cpu", 0), True), _quantity(alloc.get("memory", 0), False)
    return Resources(cpu, cpu, mem, mem)


@dataclass(frozen=True)
class PodInfo:
    """What the sampler keeps of a bound pod (by uid): who it is, where, what it asks for."""

    namespace: str
    name: str
    node: str
    resources: Resources
    restarts: int = 0


def pod_restarts(pod: dict[str, Any]) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(c.get("restartCount") or 0) for c in statuses)


@dataclass(frozen=True)
class Sample:
    """One measurement: who, used CPU cores and memory bytes (a pod's and the cluster's: also
    the restarts of their containers)."""

    kind: str  # "node", "pod" or "cluster"
    namespace: str
    name: str
    cpu: float
    memory: float
    resources: Resources
    node: str = ""
    restarts: float = NAN


def samples_from(summaries: dict[str, dict[str, Any]], nodes: Mapping[str, dict[str, Any]],
                 pods: Mapping[str, PodInfo]) -> Iterator[Sample]:
    """The samples in kubelets' Summaries (by node name), with the Nodes' allocatable and the
    pods' requests and limits (pods by uid; one the API no longer has is left out), then the
    cluster's: used (the nodes' sum) beside requested (every bound pod's) and allocatable,
    and the restarts of every bound pod's containers."""
    total = Resources()
    used_cpu = used_mem = 0.0
    sampled: set[str] = set()
    for node_name, doc in summaries.items():
        n = doc.get("node") or {}
        cpu, mem = (n.get("cpu") or {}).get("usageNanoCores"), (n.get("memory") or {}).get("workingSetBytes")
        if cpu is not None and mem is not None and node_name in nodes:
            used_cpu, used_mem = used_cpu + cpu / 1e9, used_mem + float(mem)
            yield Sample("node", "", node_name, cpu / 1e9, float(mem), node_resources(nodes[node_name]))
        for s in doc.get("pods") or []:
            uid = (s.get("podRef") or {}).get("uid", "")
            pod = pods.get(uid)
            if pod is None:
                continue
            sampled.add(uid)
            containers = s.get("containers") or []
            cpu_n = sum((c.get("cpu") or {}).get("usageNanoCores") or 0 for c in containers)
            mem_b = sum((c.get("memory") or {}).get("workingSetBytes") or 0 for c in containers)
            yield Sample("pod", pod.namespace, pod.name, cpu_n / 1e9, float(mem_b), pod.resources, node_name,
                         float(pod.restarts))
    for uid, pod in pods.items():  # no container running (a crash loop's back-off): restarts only
        if uid not in sampled and pod.node in summaries:
            yield Sample("pod", pod.namespace, pod.name, NAN, NAN, pod.resources, pod.node,
                         float(pod.restarts))
    for node in nodes.values():
        alloc = node_resources(node)
        total.cpu_limit += alloc.cpu_limit
        total.memory_limit += alloc.memory_limit
    for pod in pods.values():
        total.cpu_request += pod.resources.cpu_request
        total.memory_request += pod.resources.memory_request
    if nodes:
        yield Sample("cluster", "", "cluster", used_cpu, used_mem, total,
                     restarts=float(sum(p.restarts for p in pods.values())))


class History:
    """The ring buffer. `record(now, samples)` adds one slot; `series(...)` reads one."""

    def __init__(self, interval: float = DEFAULT_INTERVAL, window: float = DEFAULT_WINDOW,
                 max_series: int = MAX_SERIES) -> None:
        self.interval = interval
        self.window = window
        self.size = max(2, int(window / interval))
        self.max_series = max_series
        self.times = array("d", [NAN] * self.size)
        self.head = 0  # the slot the next sample goes to
        self.count = 0
        self._series: dict[tuple[str, str, str], Series] = {}

    def _new(self, s: Sample) -> Series | None:
        if len(self._series) >= self.max_series:
            return None
        blank = array("f", [NAN]) * self.size
        series = Series(s.kind, s.namespace, s.name, blank, array("f", blank),
                        restarts=array("f", blank) if s.kind != "node" else None)
        self._series[(s.kind, s.namespace, s.name)] = series
        return series

    def record(self, now: float, samples: Iterable[Sample]) -> None:
        slot = self.head
        self.times[slot] = now
        for series in self._series.values():  # no sample this time: a gap, not the old value
            series.cpu[slot] = NAN
            series.memory[slot] = NAN
            if series.restarts is not None:
                series.restarts[slot] = NAN
        for s in samples:
            found = self._series.get((s.kind, s.namespace, s.name)) or self._new(s)
            if found is None:
                continue
            series = found
            series.cpu[slot] = s.cpu
            series.memory[slot] = s.memory
            if series.restarts is not None:
                series.restarts[slot] = s.restarts
            series.resources = s.resources
            series.node = s.node
            series.last_seen = now
        self.head = (slot + 1) % self.size
        self.count = min(self.count + 1, self.size)
        stale = [key for key, series in self._series.items() if now - series.last_seen >= self.window]
        for key in stale:
            del self._series[key]

    def _order(self) -> list[int]:
        """Slot indices oldest first."""
        start = (self.head - self.count) % self.size
        return [(start + i) % self.size for i in range(self.count)]

    def get(self, kind: str, namespace: str, name: str) -> Series | None:
        return self._series.get((kind, namespace, name))

    def all(self) -> list[Series]:
        return list(self._series.values())

    def as_json(self, series: Series, since: float = 0.0) -> dict[str, Any]:
        """One series for the page: parallel lists (time in s, cores, bytes) after `since`,
        gaps as null, and the requests and limits."""
        slots = [i for i in self._order() if self.times[i] > since]

        def column(values: array, digits: int | None = None) -> list[float | None]:  # type: ignore[type-arg]
            return [None if math.isnan(values[i]) else (round(values[i], digits) if digits else values[i])
                    for i in slots]

        r = series.resources
        out = {"kind": series.kind, "namespace": series.namespace, "name": series.name,
               "node": series.node, "interval": self.interval, "time": [self.times[i] for i in slots],
               "cpu": column(series.cpu, 6), "memory": column(series.memory),
               "cpuRequest": r.cpu_request, "cpuLimit": r.cpu_limit,
               "memoryRequest": r.memory_request, "memoryLimit": r.memory_limit}
        if series.restarts is not None:
            out["restarts"] = column(series.restarts)
        return out

    def latest(self, series: Series) -> tuple[float, float] | None:
        """The last slot's (cores, bytes) if the series had a sample then."""
        if not self.count:
            return None
        i = (self.head - 1) % self.size
        c, m = series.cpu[i], series.memory[i]
        return None if math.isnan(c) else (float(c), float(m))
