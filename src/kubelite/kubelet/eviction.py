"""Node allocatable and eviction under memory pressure, as the kubelet's eviction manager does.

- Allocatable = capacity - `--system-reserved` - `--kube-reserved` - the hard eviction
  threshold (`--eviction-hard memory.available<100Mi` by default), what the scheduler fits
  pods against.
- Every `EVICTION_INTERVAL` seconds the manager compares the node's available memory with the
  hard threshold. Under it, the node reports `MemoryPressure=True` and one pod is evicted per
  round: pods using more memory than they request first, then lower priority, then the one most
  above its request (rankMemoryPressure). So BestEffort pods go first, then Burstable ones over
  their requests. The evicted pod's containers are killed, its phase becomes Failed with reason
  `Evicted` and a message naming the container that used the most, and a DisruptionTarget
  condition and an `Evicted` event say why.
- The condition stays True for the pressure transition period after memory recovers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubelite.api.quantity import Quantity, QuantityError, canonical, parse_quantity
from kubelite.kubelet.stats import NodeSample, StatsProvider, read_node_sample

if TYPE_CHECKING:
    from kubelite.kubelet.kubelet import Kubelet

log = logging.getLogger(__name__)

DEFAULT_EVICTION_HARD = "memory.available<100Mi"
EVICTION_INTERVAL = 10.0
PRESSURE_TRANSITION_PERIOD = 300.0
EVICTION_GRACE = 0  # hard thresholds kill at once

# The kubelet's words (pkg/kubelet/eviction/helpers.go, pkg/kubelet/events).
REASON_EVICTED = "Evicted"
NODE_LOW_MESSAGE = "The node was low on resource: {resource}. "
THRESHOLD_MET_MESSAGE = "Threshold quantity: {quantity}, available: {available}. "
CONTAINER_MESSAGE = "Container {name} was using {usage}, request is {request}, has larger consumption of {resource}. "
DISRUPTION_TARGET = "DisruptionTarget"
TERMINATION_BY_KUBELET = "TerminationByKubelet"
THRESHOLD_MET_EVENT = "EvictionThresholdMet"
MEMORY_PRESSURE = "MemoryPressure"

_THRESHOLD = re.compile(r"^\s*([a-z.]+)\s*(<)\s*([^,\s]+)\s*$")


@dataclass(frozen=True)
class Threshold:
    """`signal<value`: value is a quantity, or a percentage of capacity."""

    signal: str
    quantity: Quantity | None = None
    percentage: float | None = None

    def amount(self, capacity: int) -> int:
        if self.quantity is not None:
            return self.quantity.value()
        return int(capacity * (self.percentage or 0) / 100)


def parse_thresholds(text: str) -> dict[str, Threshold]:
    """`memory.available<100Mi,nodefs.available<10%` (the --eviction-hard syntax)."""
    out: dict[str, Threshold] = {}
    for part in [p for p in text.split(",") if p.strip()]:
        m = _THRESHOLD.match(part)
        if m is None:
            raise ValueError(f"invalid eviction threshold {part!r}: expected SIGNAL<QUANTITY")
        signal, _, value = m.groups()
        if value.endswith("%"):
            out[signal] = Threshold(signal, percentage=float(value[:-1]))
        else:
            try:
                out[signal] = Threshold(signal, quantity=parse_quantity(value))
            except QuantityError as e:
                raise ValueError(f"invalid eviction threshold {part!r}: {e}") from None
    return out


def parse_reserved(text: str) -> dict[str, str]:
    """`cpu=100m,memory=256Mi` (the --system-reserved / --kube-reserved syntax)."""
    out: dict[str, str] = {}
    for part in [p for p in text.split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"invalid reservation {part!r}: expected RESOURCE=QUANTITY")
        try:
            out[name.strip()] = canonical(parse_quantity(value.strip()))
        except QuantityError as e:
            raise ValueError(f"invalid reservation {part!r}: {e}") from None
    return out


def node_allocatable(capacity: Mapping[str, str], system_reserved: Mapping[str, str],
                     kube_reserved: Mapping[str, str], thresholds: Mapping[str, Threshold]
                     ) -> dict[str, str]:
    """Capacity minus reservations and the hard eviction thresholds, never below zero."""
    out: dict[str, str] = {}
    for name, raw in capacity.items():
        value = parse_quantity(raw)
        for reserved in (system_reserved, kube_reserved):
            if name in reserved:
                value = value - parse_quantity(reserved[name])
        signal = {"memory": "memory.available", "ephemeral-storage": "nodefs.available"}.get(name)
        if signal and signal in thresholds:
            value = value - parse_quantity(thresholds[signal].amount(parse_quantity(raw).value()))
        if value.nanos < 0:
            value = parse_quantity(0)
        if name == "memory" or name == "ephemeral-storage":
            out[name] = f"{value.value() // 1024}Ki" if value.value() % 1024 == 0 else str(value.value())
        else:
            out[name] = canonical(value)
    return out


# -- ranking --------------------------------------------------------------------------------

@dataclass
class PodUsage:
    """A running pod as the ranking sees it."""

    pod: dict[str, Any]
    working_set: int  # bytes, the pod's containers together
    containers: dict[str, int]  # container name -> working set bytes

    @property
    def request(self) -> int:
        total = 0
        for c in (self.pod.get("spec") or {}).get("containers") or []:
            raw = ((c.get("resources") or {}).get("requests") or {}).get("memory")
            if raw is not None:
                with contextlib.suppress(QuantityError):
                    total += parse_quantity(raw).value()
        return total

    @property
    def priority(self) -> int:
        return int((self.pod.get("spec") or {}).get("priority") or 0)


def rank_for_memory(pods: list[PodUsage]) -> list[PodUsage]:
    """rankMemoryPressure: exceeding requests first, then lower priority, then most above."""
    return sorted(pods, key=lambda p: (p.working_set <= p.request, p.priority,
                                       -(p.working_set - p.request)))


def _container_request(pod: Mapping[str, Any], name: str) -> Quantity:
    for c in (pod.get("spec") or {}).get("containers") or []:
        if c.get("name") == name:
            raw = ((c.get("resources") or {}).get("requests") or {}).get("memory")
            if raw is not None:
                with contextlib.suppress(QuantityError):
                    return parse_quantity(raw)
    return parse_quantity(0)


def _binary(n: int) -> str:
    return canonical(Quantity(n * 10**9, "BinarySI"))


def eviction_message(usage: PodUsage, threshold: Threshold, available: int, capacity: int) -> str:
    """The kubelet's evictionMessage for memory."""
    message = NODE_LOW_MESSAGE.format(resource="memory")
    quantity = canonical(threshold.quantity) if threshold.quantity is not None else \
        _binary(threshold.amount(capacity))
    message += THRESHOLD_MET_MESSAGE.format(quantity=quantity, available=_binary(available))
    for name, ws in sorted(usage.containers.items()):
        request = _container_request(usage.pod, name)
        if ws > request.value():
            message += CONTAINER_MESSAGE.format(name=name, usage=_binary(ws),
                                                request=canonical(request), resource="memory")
    return message


# -- the kubelet side -----------------------------------------------------------------------

def evicted_status(status: dict[str, Any], message: str, now: str) -> dict[str, Any]:
    """A pod's status once the kubelet evicted it: Failed, reason Evicted, and the
    DisruptionTarget condition saying the kubelet ended it (both eviction signals use this)."""
    out = dict(status, phase="Failed", reason=REASON_EVICTED, message=message)
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != DISRUPTION_TARGET]
    conditions.insert(0, {"type": DISRUPTION_TARGET, "status": "True",
                          "reason": TERMINATION_BY_KUBELET, "message": message,
                          "lastProbeTime": None, "lastTransitionTime": now})
    out["conditions"] = conditions
    return out


class EvictionManager:
    """Watches node memory; under the hard threshold, reports pressure and evicts pods."""

    def __init__(self, kubelet: Kubelet, stats: StatsProvider, thresholds: Mapping[str, Threshold],
                 *, interval: float = EVICTION_INTERVAL,
                 transition_period: float = PRESSURE_TRANSITION_PERIOD,
                 read_node: Callable[[], NodeSample] = read_node_sample,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kubelet = kubelet
        self.stats = stats
        self.threshold = thresholds.get("memory.available")
        self.interval = interval
        self.transition_period = transition_period
        self.read_node = read_node
        self.clock = clock
        self._last_met: float | None = None
        self._evicting: dict[str, float] = {}  # uid -> when asked (wait for it before the next)

    def pressure(self, now: float) -> bool:
        return self._last_met is not None and now - self._last_met < self.transition_period

    async def synchronize(self) -> str | None:
        """One round; the uid of the pod asked to go, if any."""
        if self.threshold is None:
            return None
        node = await asyncio.to_thread(self.read_node)
        now = self.clock()
        limit = self.threshold.amount(node.memory_total)
        met = node.memory_available < limit
        if met:
            self._last_met = now
        await self._report_pressure(self.pressure(now))
        if not met:
            return None
        pods = {uid: p for uid, p in self.kubelet.pods.items()
                if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                and not (p.get("metadata") or {}).get("deletionTimestamp")}
        self._evicting = {u: t for u, t in self._evicting.items() if u in pods and now - t < 30}
        if self._evicting:
            return None  # the last eviction has not finished yet
        summary = await asyncio.to_thread(self.stats.sweep)
        usages = []
        for p in summary["pods"]:
            pod = pods.get(p["podRef"]["uid"])
            if pod is None:
                continue
            containers = {c["name"]: int(c["memory"]["workingSetBytes"]) for c in p["containers"]}
            usages.append(PodUsage(pod, sum(containers.values()), containers))
        ranked = rank_for_memory(usages)
        if not ranked:
            return None
        victim = ranked[0]
        message = eviction_message(victim, self.threshold, node.memory_available, node.memory_total)
        uid = victim.pod["metadata"]["uid"]
        self._evicting[uid] = now
        log.warning("evicting pod %s/%s: %s", victim.pod["metadata"].get("namespace"),
                    victim.pod["metadata"].get("name"), message)
        self.evict(uid, message)
        return uid

    def evict(self, uid: str, message: str) -> None:
        """Hand the eviction to the pod's worker (it alone touches the pod's containers)."""
        syncer = self.kubelet.syncer
        if syncer is None:
            return
        syncer.evictions[uid] = message
        self.kubelet.queue.add(uid)

    async def _report_pressure(self, on: bool) -> None:
        node = self.kubelet.node
        if node is None or node.set_pressure(MEMORY_PRESSURE, on) is False:
            return
        with contextlib.suppress(Exception):
            await node.update_status()

    def start(self) -> asyncio.Task[None]:
        async def loop() -> None:
            while True:
                try:
                    await self.synchronize()
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # noqa: BLE001 - the next round retries
                    log.warning("eviction manager: %s", e)
                await asyncio.sleep(self.interval)

        return asyncio.create_task(loop(), name="eviction-manager")


# -- wiring ---------------------------------------------------------------------------------

def allocatable_for(kubelet: Kubelet) -> dict[str, str]:
    cfg = kubelet.config
    assert kubelet.node is not None
    return node_allocatable(kubelet.node.capacity, getattr(cfg, "system_reserved", {}) or {},
                            getattr(cfg, "kube_reserved", {}) or {},
                            parse_thresholds(getattr(cfg, "eviction_hard", DEFAULT_EVICTION_HARD)))


def start_for(kubelet: Kubelet, stats: StatsProvider) -> asyncio.Task[None]:
    """Start the eviction manager of a started kubelet (its task is the caller's to cancel)."""
    thresholds = parse_thresholds(getattr(kubelet.config, "eviction_hard", DEFAULT_EVICTION_HARD))
    period = float(getattr(kubelet.config, "eviction_pressure_transition_period",
                           PRESSURE_TRANSITION_PERIOD))
    return EvictionManager(kubelet, stats, thresholds, transition_period=period).start()


def add_flags(p: argparse.ArgumentParser) -> None:
    """`kubelite agent` flags for allocatable and eviction (kubelet names and syntax)."""
    p.add_argument("--system-reserved", default="",
                   help="resources held back for the OS, e.g. cpu=100m,memory=256Mi")
    p.add_argument("--kube-reserved", default="",
                   help="resources held back for kubelite itself, e.g. cpu=100m,memory=256Mi")
    p.add_argument("--eviction-hard", default=DEFAULT_EVICTION_HARD,
                   help="evict pods when a signal crosses this (default %(default)s)")
    p.add_argument("--pod-max-pids", type=int, default=None,
                   help="pids limit of each pod's cgroup (-1: unlimited)")


def config_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The AgentConfig fields `add_flags` sets (raises ValueError on bad syntax)."""
    out: dict[str, Any] = {
        "system_reserved": parse_reserved(getattr(args, "system_reserved", "") or ""),
        "kube_reserved": parse_reserved(getattr(args, "kube_reserved", "") or ""),
        "eviction_hard": getattr(args, "eviction_hard", DEFAULT_EVICTION_HARD),
    }
    parse_thresholds(out["eviction_hard"])
    if getattr(args, "pod_max_pids", None) is not None:
        out["pod_pids_limit"] = int(args.pod_max_pids)
    return out


def start_resource_management(kubelet: Kubelet) -> list[asyncio.Task[None]]:
    """After the kubelet's workers run: the stats sweep, the eviction manager, and the pod
    pids limit for new pod cgroups. The tasks are the kubelet's to cancel."""
    from kubelite.kubelet import stats as stats_mod

    provider = getattr(kubelet, "stats", None)
    if not isinstance(provider, StatsProvider):
        provider = stats_mod.attach(kubelet)
        kubelet.stats = provider
    if kubelet.syncer is not None:
        kubelet.syncer.pod_pids_limit = int(getattr(kubelet.config, "pod_pids_limit", -1))
    return [provider.start(), start_for(kubelet, provider)]
