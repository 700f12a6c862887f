"""Cgroup layout for pods, and reading container stats, on cgroup v1, v2 or hybrid hosts.

Kubelite owns one root per cluster (`/<root>`, e.g. `/kubelite-ab12`), and lays pods out as the
kubelet's cgroupfs driver does: `/<root>/kubepods/pod<uid>/<container>` for Guaranteed pods,
`/<root>/kubepods/{burstable,besteffort}/pod<uid>/<container>` for the other QoS classes.

Paths handed to runc are absolute: runc treats a relative `cgroupsPath` as relative to the
caller's own cgroup in each hierarchy, which differs between hierarchies on hybrid hosts.
`runc delete` removes only the leaf, so the parents are removed here, deepest first, in every
hierarchy.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from typing import Literal

CGROUP_MOUNT = "/sys/fs/cgroup"
Layout = Literal["v1", "v2", "hybrid"]
QosClass = Literal["Guaranteed", "Burstable", "BestEffort"]


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy: its mount point and its controllers (empty for v2 roots
    with no controllers or for named v1 hierarchies such as name=systemd)."""

    mountpoint: str
    version: int
    controllers: tuple[str, ...]


MOUNTINFO = "/proc/self/mountinfo"
HIERARCHIES_TTL = 5.0
_cached: tuple[float, list[Hierarchy]] | None = None


def hierarchies(mountinfo: str = MOUNTINFO) -> list[Hierarchy]:
    """Every cgroup (v1) and cgroup2 mount, read from mountinfo.

    This machine's own answer is kept for a few seconds: mountinfo grows with every
    container's rootfs and namespace mount, and reading it for each pod and container
    made starting 110 pods quadratic. `forget_hierarchies()` drops it after a mount."""
    global _cached
    if mountinfo != MOUNTINFO:
        return _read_hierarchies(mountinfo)
    now = time.monotonic()
    if _cached is None or now - _cached[0] > HIERARCHIES_TTL:
        _cached = (now, _read_hierarchies(mountinfo))
    return list(_cached[1])


def forget_hierarchies() -> None:
    """Read mountinfo afresh next time (a cgroup hierarchy was mounted or unmounted)."""
    global _cached
    _cached = None


def _read_hierarchies(mountinfo: str) -> list[Hierarchy]:
    out: list[Hierarchy] = []
    seen: set[str] = set()
    with open(mountinfo) as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            fstype, _source, superopts = (right.split() + ["", "", ""])[:3]
            mountpoint = fields[4]
            if mountpoint in seen or fstype not in ("cgroup", "cgroup2"):
                continue
            seen.add(mountpoint)
            if fstype == "cgroup2":
                try:
                    with open(os.path.join(mountpoint, "cgroup.controllers")) as c:
                        ctrls = tuple(c.read().split())
                except OSError:
                    ctrls = ()
                out.append(Hierarchy(mountpoint, 2, ctrls))
            else:
                known = {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio",
                         "pids", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc"}  # fmt: skip
                ctrls = tuple(o for o in superopts.split(",") if o in known)
                out.append(Hierarchy(mountpoint, 1, ctrls))
    return out


def detect_layout(hiers: list[Hierarchy] | None = None) -> Layout:
    """'v2' (unified only), 'v1' (v1 only) or 'hybrid' (v1 controllers plus a cgroup2 mount,
    as systemd's hybrid mode sets up at /sys/fs/cgroup/unified)."""
    hiers = hierarchies() if hiers is None else hiers
    v1 = [h for h in hiers if h.version == 1]
    v2 = [h for h in hiers if h.version == 2]
    if not v1:
        return "v2"
    return "hybrid" if v2 else "v1"


def unified_controllers_on_hybrid(hiers: list[Hierarchy] | None = None) -> list[str]:
    """Controllers that sit in cgroup2 while v1 hierarchies are also in use.

    crun refuses such hosts ("cgroups in hybrid mode not supported, drop all controllers from
    cgroupv2"); on this kind of machine it is typically only `hugetlb`.
    """
    hiers = hierarchies() if hiers is None else hiers
    if detect_layout(hiers) != "hybrid":
        return []
    return [c for h in hiers if h.version == 2 for c in h.controllers]


def _v1_path(hiers: list[Hierarchy], controller: str) -> str | None:
    for h in hiers:
        if h.version == 1 and controller in h.controllers:
            return h.mountpoint
    return None


def _v2_path(hiers: list[Hierarchy]) -> str | None:
    for h in hiers:
        if h.version == 2:
            return h.mountpoint
    return None


def _rmdir_retry(path: str, timeout: float = 1.0) -> None:
    """rmdir a cgroup; the kernel may say EBUSY for a moment after the last task left."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def remove_tree(path: str, hiers: list[Hierarchy] | None = None) -> None:
    """Remove the cgroup at absolute `path` and everything below it, in every hierarchy.

    Only empty cgroups can be removed; a cgroup that still has processes raises OSError(EBUSY).
    """
    hiers = hierarchies() if hiers is None else hiers
    rel = path.strip("/")
    if not rel:
        raise ValueError("refusing to remove the root cgroup")
    for h in hiers:
        top = os.path.join(h.mountpoint, rel)
        if not os.path.isdir(top):
            continue
        dirs = [dirpath for dirpath, _d, _f in os.walk(top)]
        for d in sorted(dirs, key=lambda p: p.count("/"), reverse=True):
            _rmdir_retry(d)


def create_path(path: str, hiers: list[Hierarchy] | None = None) -> None:
    """Create the cgroup at absolute `path` in every hierarchy (runc does this for leaves)."""
    hiers = hierarchies() if hiers is None else hiers
    for h in hiers:
        os.makedirs(os.path.join(h.mountpoint, path.strip("/")), exist_ok=True)


class PodCgroups:
    """The per-cluster cgroup tree: `/<root>/kubepods/[qos/]pod<uid>/<container>`."""

    def __init__(self, root_name: str) -> None:
        if not root_name or "/" in root_name or root_name in (".", ".."):
            raise ValueError(f"invalid cgroup root name {root_name!r}")
        self.root = "/" + root_name

    def pod_path(self, qos: QosClass, pod_uid: str) -> str:
        base = f"{self.root}/kubepods"
        if qos == "Guaranteed":
            return f"{base}/pod{pod_uid}"
        return f"{base}/{qos.lower()}/pod{pod_uid}"

    def container_path(self, qos: QosClass, pod_uid: str, container: str) -> str:
        """The absolute `cgroupsPath` for one container instance (use its unique id)."""
        return f"{self.pod_path(qos, pod_uid)}/{container}"

    def ensure_root(self) -> None:
        create_path(f"{self.root}/kubepods/burstable")
        create_path(f"{self.root}/kubepods/besteffort")

    def remove_pod(self, qos: QosClass, pod_uid: str) -> None:
        remove_tree(self.pod_path(qos, pod_uid))

    def remove_root(self) -> None:
        remove_tree(self.root)

    def exists(self) -> bool:
        return any(os.path.isdir(h.mountpoint + self.root) for h in hierarchies())


@dataclass
class CgroupStats:
    """What the kubelet's summary API wants from one cgroup."""

    cpu_usage_ns: int = 0
    memory_usage: int = 0
    memory_working_set: int = 0  # usage minus inactive file cache, as cAdvisor reports it
    oom_kills: int = 0
    pids: int = 0


def _read_int(path: str, default: int = 0) -> int:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return default
    if text == "max":
        return default
    try:
        return int(text)
    except ValueError:
        return default


def _read_keyed(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1].lstrip("-").isdigit():
                    out[parts[0]] = int(parts[1])
    except OSError:
        pass
    return out


def oom_kill_count(path: str, hiers: list[Hierarchy] | None = None) -> int:
    """How many processes the kernel OOM-killed in this cgroup (and below) so far."""
    hiers = hierarchies() if hiers is None else hiers
    rel = path.strip("/")
    mem = _v1_path(hiers, "memory")
    if mem:
        return _read_keyed(os.path.join(mem, rel, "memory.oom_control")).get("oom_kill", 0)
    v2 = _v2_path(hiers)
    if v2:
        return _read_keyed(os.path.join(v2, rel, "memory.events")).get("oom_kill", 0)
    return 0


def read_stats(path: str, hiers: list[Hierarchy] | None = None) -> CgroupStats:
    """CPU, memory, OOM and pid figures for the cgroup at absolute `path` (v1 or v2)."""
    hiers = hierarchies() if hiers is None else hiers
    rel = path.strip("/")
    stats = CgroupStats(oom_kills=oom_kill_count(path, hiers))
    mem = _v1_path(hiers, "memory")
    if mem:  # v1 (or hybrid with v1 controllers)
        acct = _v1_path(hiers, "cpuacct")
        if acct:
            stats.cpu_usage_ns = _read_int(os.path.join(acct, rel, "cpuacct.usage"))
        stats.memory_usage = _read_int(os.path.join(mem, rel, "memory.usage_in_bytes"))
        inactive = _read_keyed(os.path.join(mem, rel, "memory.stat")).get("total_inactive_file", 0)
        pids = _v1_path(hiers, "pids")
        if pids:
            stats.pids = _read_int(os.path.join(pids, rel, "pids.current"))
    else:
        v2 = _v2_path(hiers)
        if v2 is None:
            return stats
        base = os.path.join(v2, rel)
        stats.cpu_usage_ns = _read_keyed(os.path.join(base, "cpu.stat")).get("usage_usec", 0) * 1000
        stats.memory_usage = _read_int(os.path.join(base, "memory.current"))
        inactive = _read_keyed(os.path.join(base, "memory.stat")).get("inactive_file", 0)
        stats.pids = _read_int(os.path.join(base, "pids.current"))
    stats.memory_working_set = max(0, stats.memory_usage - inactive)
    return stats
