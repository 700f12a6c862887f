"""Utilization history: a bounded ring of samples per node and per pod, taken from the
kubelets' summary stats (the same figures `kubectl top` reads through metrics.k8s.io).

One clock ring is shared by every series (a sample time per slot); each series keeps its
CPU (cores) and memory (working set, bytes) in float32 arrays aligned with that ring, NaN
where it had no sample, and its current requests and limits. 24 h at 15 s is 5,760 slots:
46 KiB per series, so 1,000 pods cost about 46 MiB; the number of series is capped and a
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

    kind: str  # "node" or "pod"
    namespace: str
    name: str
    cpu: array  # type: ignore[type-arg]
    memory: array  # type: ignore[type-arg]
    resources: Resources = field(default_factory=Resources)
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


@dataclass(frozen=True)
class Sample:
    """One measurement: who, used CPU cores and memory bytes."""

    kind: str
    namespace: str
    name: str
    cpu: float
    memory: float
    resources: Resources
    node: str = ""


def samples_from(summaries: dict[str, dict[str, Any]], nodes: Mapping[str, dict[str, Any]],
                 pods: Mapping[str, PodInfo]) -> Iterator[Sample]:
    """The samples in kubelets' Summaries (by node name), with the Nodes' allocatable and the
    pods' requests and limits (pods by uid; one the API no longer has is left out)."""
    for node_name, doc in summaries.items():
        n = doc.get("node") or {}
        cpu, mem = (n.get("cpu") or {}).get("usageNanoCores"), (n.get("memory") or {}).get("workingSetBytes")
        if cpu is not None and mem is not None and node_name in nodes:
            yield Sample("node", "", node_name, cpu / 1e9, float(mem), node_resources(nodes[node_name]))
        for s in doc.get("pods") or []:
            pod = pods.get((s.get("podRef") or {}).get("uid", ""))
            if pod is None:
                continue
            containers = s.get("containers") or []
            cpu_n = sum((c.get("cpu") or {}).get("usageNanoCores") or 0 for c in containers)
            mem_b = sum((c.get("memory") or {}).get("workingSetBytes") or 0 for c in containers)
            yield Sample("pod", pod.namespace, pod.name, cpu_n / 1e9, float(mem_b), pod.resources, node_name)


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
        series = Series(s.kind, s.namespace, s.name, blank, array("f", blank))
        self._series[(s.kind, s.namespace, s.name)] = series
        return series

    def record(self, now: float, samples: Iterable[Sample]) -> None:
        slot = self.head
        self.times[slot] = now
        for series in self._series.values():  # no sample this time: a gap, not the old value
            series.cpu[slot] = NAN
            series.memory[slot] = NAN
        for s in samples:
            found = self._series.get((s.kind, s.namespace, s.name)) or self._new(s)
            if found is None:
                continue
            series = found
            series.cpu[slot] = s.cpu
            series.memory[slot] = s.memory
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
        t: list[float] = []
        cpu: list[float | None] = []
        mem: list[float | None] = []
        for i in self._order():
            if self.times[i] <= since:
                continue
            t.append(self.times[i])
            c, m = series.cpu[i], series.memory[i]
            cpu.append(None if math.isnan(c) else round(c, 6))
            mem.append(None if math.isnan(m) else m)
        r = series.resources
        return {"kind": series.kind, "namespace": series.namespace, "name": series.name,
                "node": series.node, "interval": self.interval, "time": t, "cpu": cpu, "memory": mem,
                "cpuRequest": r.cpu_request, "cpuLimit": r.cpu_limit,
                "memoryRequest": r.memory_request, "memoryLimit": r.memory_limit}

    def latest(self, series: Series) -> tuple[float, float] | None:
        """The last slot's (cores, bytes) if the series had a sample then."""
        if not self.count:
            return None
        i = (self.head - 1) % self.size
        c, m = series.cpu[i], series.memory[i]
        return None if math.isnan(c) else (float(c), float(m))
