"""Pod-level cgroup limits and per-container oom_score_adj, as the kubelet sets them.

Containers get their own limits from `container_config.resources`; this module adds what the
kubelet's pod container manager and QoS policy add on top (pkg/kubelet/cm/helpers_linux.go,
pkg/kubelet/qos/policy.go):

- the pod cgroup (`kubepods/[qos/]pod<uid>`) gets cpu shares from the sum of requests, a CFS
  quota and a memory limit only when every container sets that limit, and the pod pids limit;
- `kubepods/besteffort` gets the minimum cpu shares, so best-effort pods yield to the others;
- each container's oom_score_adj follows its pod's QoS class: Guaranteed -997, BestEffort
  1000, Burstable 1000 - 1000*request/capacity clamped to [3, 999].
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelite.api.quantity import QuantityError, parse_quantity
from kubelite.runtime import cgroups

CPU_PERIOD_US = 100_000
MIN_SHARES = 2
MAX_SHARES = 262_144
GUARANTEED_OOM_SCORE_ADJ = -997
BEST_EFFORT_OOM_SCORE_ADJ = 1000
CRITICAL_PRIORITY = 2_000_000_000  # system-cluster-critical and above


@dataclass(frozen=True)
class PodLimits:
    """What the pod cgroup gets; None leaves a value unlimited."""

    cpu_shares: int = MIN_SHARES
    cpu_quota: int | None = None  # microseconds per CPU_PERIOD_US
    memory_limit: int | None = None  # bytes
    pids_limit: int | None = None


def _amount(res: Mapping[str, Any] | None, name: str, milli: bool) -> int | None:
    raw = (res or {}).get(name)
    if raw is None:
        return None
    try:
        q = parse_quantity(raw)
    except QuantityError:
        return None
    return q.milli_value() if milli else q.value()


def _pod_total(pod: Mapping[str, Any], field: str, name: str, milli: bool) -> tuple[int, bool]:
    """(sum over containers, at least the largest init container; every container set it)."""
    spec = pod.get("spec") or {}
    total, every = 0, True
    for c in spec.get("containers") or []:
        v = _amount((c.get("resources") or {}).get(field), name, milli)
        every = every and v is not None
        total += v or 0
    for c in spec.get("initContainers") or []:
        v = _amount((c.get("resources") or {}).get(field), name, milli)
        every = every and v is not None
        total = max(total, v or 0)
    return total, every


def shares_for(milli_cpu: int) -> int:
    """MilliCPUToShares."""
    if milli_cpu == 0:
        return MIN_SHARES
    return max(MIN_SHARES, min(MAX_SHARES, milli_cpu * 1024 // 1000))


def pod_limits(pod: Mapping[str, Any], pids_limit: int | None = None) -> PodLimits:
    """ResourceConfigForPod: the pod cgroup's cpu shares, quota, memory and pids limits."""
    cpu_request, _ = _pod_total(pod, "requests", "cpu", milli=True)
    cpu_limit, all_cpu = _pod_total(pod, "limits", "cpu", milli=True)
    mem_limit, all_mem = _pod_total(pod, "limits", "memory", milli=False)
    quota = max(1000, cpu_limit * CPU_PERIOD_US // 1000) if all_cpu and cpu_limit else None
    return PodLimits(
        cpu_shares=shares_for(cpu_request),
        cpu_quota=quota,
        memory_limit=mem_limit if all_mem and mem_limit else None,
        pids_limit=pids_limit if pids_limit and pids_limit > 0 else None,
    )


def oom_score_adj(pod: Mapping[str, Any], container: Mapping[str, Any], qos: str,
                  memory_capacity: int) -> int:
    """GetContainerOOMScoreAdjust."""
    priority = (pod.get("spec") or {}).get("priority") or 0
    if qos == "Guaranteed" or priority >= CRITICAL_PRIORITY:
        return GUARANTEED_OOM_SCORE_ADJ
    if qos == "BestEffort":
        return BEST_EFFORT_OOM_SCORE_ADJ
    request = _amount((container.get("resources") or {}).get("requests"), "memory", False) or 0
    if memory_capacity <= 0:
        return BEST_EFFORT_OOM_SCORE_ADJ - 1
    adj = 1000 - (1000 * request) // memory_capacity
    if adj < 1000 + GUARANTEED_OOM_SCORE_ADJ:
        return 1000 + GUARANTEED_OOM_SCORE_ADJ
    if adj == BEST_EFFORT_OOM_SCORE_ADJ:
        return adj - 1
    return int(adj)


CAP_SYS_RESOURCE = 24


def lowest_settable_oom_score_adj(status_path: str = "/proc/self/status",
                                  adj_path: str = "/proc/self/oom_score_adj") -> int:
    """The lowest oom_score_adj this process may give its children: -1000 with
    CAP_SYS_RESOURCE, else its own value (the kernel refuses lower ones, and runc then fails
    to create the container; some sandboxed hosts run the agent without that capability)."""
    try:
        with open(status_path) as f:
            caps = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
        if caps & (1 << CAP_SYS_RESOURCE):
            return -1000
        with open(adj_path) as f:
            return int(f.read().strip())
    except (OSError, ValueError, StopIteration):
        return -1000


# -- writing cgroup files -------------------------------------------------------------------

def _weight(shares: int) -> int:
    """cgroup v2 cpu.weight for v1 shares (as runc converts them)."""
    return 1 + ((shares - 2) * 9999) // 262142


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def cgroup_files(limits: PodLimits, version: int) -> dict[tuple[str, str], str]:
    """{(controller, file): value} for one hierarchy version."""
    if version == 1:
        out = {("cpu", "cpu.shares"): str(limits.cpu_shares),
               ("cpu", "cpu.cfs_period_us"): str(CPU_PERIOD_US),
               ("cpu", "cpu.cfs_quota_us"): str(limits.cpu_quota or -1),
               ("memory", "memory.limit_in_bytes"): str(limits.memory_limit or -1),
               ("pids", "pids.max"): str(limits.pids_limit or "max")}
    else:
        quota = str(limits.cpu_quota) if limits.cpu_quota else "max"
        out = {("cpu", "cpu.weight"): str(_weight(limits.cpu_shares)),
               ("cpu", "cpu.max"): f"{quota} {CPU_PERIOD_US}",
               ("memory", "memory.max"): str(limits.memory_limit or "max"),
               ("pids", "pids.max"): str(limits.pids_limit or "max")}
    return out


def apply_limits(path: str, limits: PodLimits,
                 hiers: list[cgroups.Hierarchy] | None = None) -> None:
    """Create the cgroup at absolute `path` everywhere and write `limits` where the controller
    is mounted. A memory limit below current usage is left as it was (the kernel refuses)."""
    hiers = cgroups.hierarchies() if hiers is None else hiers
    cgroups.create_path(path, hiers)
    rel = path.strip("/")
    for h in hiers:
        for (controller, name), value in cgroup_files(limits, h.version).items():
            if controller not in h.controllers:
                continue
            with contextlib.suppress(OSError):
                _write(os.path.join(h.mountpoint, rel, name), value)


def apply_qos_defaults(root: str, hiers: list[cgroups.Hierarchy] | None = None) -> None:
    """`kubepods/besteffort` gets the minimum cpu shares."""
    apply_limits(f"{root}/kubepods/besteffort", PodLimits(cpu_shares=MIN_SHARES), hiers)


async def ensure_pod_cgroup(runtime: Any, pod: Mapping[str, Any], qos: str,
                            pids_limit: int | None = None) -> None:
    """Set up the pod's cgroup before its first container starts (no-op for runtimes
    without cgroups, such as the unit tests' fakes)."""
    import asyncio

    tree = getattr(runtime, "cgroups", None)
    if not isinstance(tree, cgroups.PodCgroups):
        return
    uid = str((pod.get("metadata") or {}).get("uid", ""))
    level: cgroups.QosClass = qos if qos in ("Guaranteed", "Burstable") else "BestEffort"  # type: ignore[assignment]
    limits = pod_limits(pod, pids_limit)

    def apply() -> None:
        hiers = cgroups.hierarchies()
        apply_qos_defaults(tree.root, hiers)
        apply_limits(tree.pod_path(level, uid), limits, hiers)

    await asyncio.to_thread(apply)


def memory_bytes(resources: Mapping[str, Any] | None) -> int:
    """The `memory` of a capacity or allocatable map, in bytes (0 when absent)."""
    raw = (resources or {}).get("memory")
    try:
        return parse_quantity(raw).value() if raw is not None else 0
    except QuantityError:
        return 0


OOM_EVENT_REASON = "OOMKilled"


def report_oom(events: Any, reported: set[str], record: Any, container: Mapping[str, Any] | None
               ) -> None:
    """A Warning event on the pod, once per container instance the kernel OOM-killed."""
    if record.id in reported:
        return
    reported.add(record.id)
    limit = ((container or {}).get("resources") or {}).get("limits", {}).get("memory")
    pod = {"metadata": {"name": record.pod_name, "namespace": record.namespace,
                        "uid": record.pod_uid}, "spec": {}}
    message = f"Memory cgroup out of memory: container {record.name} was killed"
    if limit:
        message += f" (memory limit {limit})"
    events.emit(pod, OOM_EVENT_REASON, message, warning=True, container=record.name)
