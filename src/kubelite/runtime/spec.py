"""Build an OCI runtime `config.json` (as a dict) from a plain `ContainerConfig`.

The defaults follow containerd's CRI plugin, which is what a kubelet on a real node gets:
its default capability set, its masked and read-only /proc and /sys paths, and its mounts
for /proc, /dev, /dev/pts, /dev/mqueue, /sys and /sys/fs/cgroup. A pod shares /dev/shm
through a per-pod directory bind-mounted by every container, so POSIX shared memory works
across the pod, as it does with a pause container's shm.
"""

from __future__ import annotations

import os
import resource
import stat
from dataclasses import dataclass, field
from typing import Any, Literal

OCI_VERSION = "1.0.2-dev"

#: containerd's default capability set (oci/spec.go, defaultUnixCaps).
DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

#: Every capability the kernel knows, by number (include/uapi/linux/capability.h).
ALL_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip

#: containerd's masked paths (hidden from unprivileged containers).
MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)

#: containerd's read-only paths.
READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

NamespaceMode = Literal["private", "host", "path"]


@dataclass(frozen=True)
class Namespace:
    """How a container gets one namespace: its own, the host's, or one joined by path."""

    mode: NamespaceMode = "private"
    path: str = ""

    @classmethod
    def private(cls) -> Namespace:
        return cls("private")

    @classmethod
    def host(cls) -> Namespace:
        return cls("host")

    @classmethod
    def join(cls, path: str) -> Namespace:
        return cls("path", path)


@dataclass(frozen=True)
class Mount:
    """A mount in the container. `type="bind"` binds `source`; other types mount a filesystem."""

    destination: str
    source: str
    type: str = "bind"
    readonly: bool = False
    options: tuple[str, ...] = ()


@dataclass
class Resources:
    """Cgroup limits. None leaves a value unset (unlimited)."""

    cpu_shares: int | None = None  # v1 shares; runc converts to cpu.weight on cgroup v2
    cpu_quota: int | None = None  # microseconds per period
    cpu_period: int | None = None  # microseconds
    memory_limit: int | None = None  # bytes; swap is set equal so no swap is used
    pids_limit: int | None = None


@dataclass
class ContainerConfig:
    """Everything the runtime needs to know to run one container, in plain data."""

    args: list[str]
    rootfs: str
    env: list[str] = field(default_factory=list)  # "NAME=value"
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)
    # "USER[:GROUP]" to resolve in the rootfs's /etc/passwd and /etc/group once it is mounted
    # (names, a uid's primary group, member groups); uid/gid above are the numeric fallback
    user: str = ""
    hostname: str = ""  # only used when the container owns its UTS namespace
    readonly_rootfs: bool = False
    terminal: bool = False
    stdin: bool = False  # conmon keeps the process's stdin open for attach
    stdin_once: bool = False  # ... and closes it when the first attached client leaves
    mounts: list[Mount] = field(default_factory=list)
    # Files and dirs that come from the pod sandbox.
    etc_hosts: str | None = None
    etc_hostname: str | None = None
    resolv_conf: str | None = None
    shm_dir: str | None = None  # bind-mounted at /dev/shm; None gives a private tmpfs
    # Namespaces: the mount namespace is always the container's own.
    network: Namespace = field(default_factory=Namespace.private)
    ipc: Namespace = field(default_factory=Namespace.private)
    uts: Namespace = field(default_factory=Namespace.private)
    pid: Namespace = field(default_factory=Namespace.private)
    # Security.
    privileged: bool = False
    capabilities_add: list[str] = field(default_factory=list)
    capabilities_drop: list[str] = field(default_factory=list)
    no_new_privileges: bool = False
    # Resources.
    cgroups_path: str = ""  # absolute, e.g. /kubelite-x/kubepods/burstable/pod<uid>/<id>
    resources: Resources = field(default_factory=Resources)
    oom_score_adj: int | None = None


def normalize_capability(name: str) -> str:
    """Kubernetes writes capabilities without the prefix (`NET_ADMIN`); OCI wants `CAP_NET_ADMIN`."""
    name = name.upper()
    return name if name.startswith("CAP_") else "CAP_" + name


def host_bounding_capabilities() -> list[str]:
    """The capabilities this process may hand out (its bounding set), as OCI names."""
    mask = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                mask = int(line.split()[1], 16)
    return [name for bit, name in enumerate(ALL_CAPABILITIES) if mask & (1 << bit)]


def capabilities(cfg: ContainerConfig) -> list[str]:
    """The container's capability set: defaults, then drops, then adds (as containerd does)."""
    if cfg.privileged:
        return host_bounding_capabilities()
    add = [normalize_capability(c) for c in cfg.capabilities_add]
    drop = [normalize_capability(c) for c in cfg.capabilities_drop]
    if "CAP_ALL" in add:
        return host_bounding_capabilities()
    caps = [] if "CAP_ALL" in drop else [c for c in DEFAULT_CAPABILITIES if c not in drop]
    caps += [c for c in add if c not in caps]
    return caps


def _default_mounts(cfg: ContainerConfig) -> list[dict[str, Any]]:
    sys_options = ["nosuid", "noexec", "nodev"] + ([] if cfg.privileged else ["ro"])
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": sys_options},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]  # fmt: skip
    if cfg.shm_dir:
        mounts.append(_bind("/dev/shm", cfg.shm_dir, readonly=False))
    else:
        mounts.append(
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}
        )  # fmt: skip
    for dest, src in (
        ("/etc/hosts", cfg.etc_hosts),
        ("/etc/hostname", cfg.etc_hostname),
        ("/etc/resolv.conf", cfg.resolv_conf),
    ):
        if src:
            mounts.append(_bind(dest, src, readonly=cfg.readonly_rootfs))
    return mounts


def _bind(
    destination: str, source: str, readonly: bool, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    options = ["rbind", "rprivate", "ro" if readonly else "rw", *extra]
    return {"destination": destination, "type": "bind", "source": source, "options": options}


def _mount(m: Mount) -> dict[str, Any]:
    if m.type == "bind":
        return _bind(m.destination, m.source, m.readonly, m.options)
    options = list(m.options) + (["ro"] if m.readonly else [])
    return {"destination": m.destination, "type": m.type, "source": m.source, "options": options}


def _namespaces(cfg: ContainerConfig) -> list[dict[str, str]]:
    out: list[dict[str, str]] = [{"type": "mount"}]
    for kind, ns in (
        ("pid", cfg.pid),
        ("network", cfg.network),
        ("ipc", cfg.ipc),
        ("uts", cfg.uts),
    ):
        if ns.mode == "private":
            out.append({"type": kind})
        elif ns.mode == "path":
            out.append({"type": kind, "path": ns.path})
        # "host": no entry, so the container stays in the runtime's namespace.
    return out


def _resources(cfg: ContainerConfig) -> dict[str, Any]:
    r = cfg.resources
    out: dict[str, Any] = {
        "devices": [{"allow": True, "access": "rwm"}]
        if cfg.privileged
        else [{"allow": False, "access": "rwm"}]
    }
    cpu: dict[str, int] = {}
    if r.cpu_shares is not None:
        cpu["shares"] = r.cpu_shares
    if r.cpu_quota is not None:
        cpu["quota"] = r.cpu_quota
    if r.cpu_period is not None:
        cpu["period"] = r.cpu_period
    if cpu:
        out["cpu"] = cpu
    if r.memory_limit is not None:
        out["memory"] = {"limit": r.memory_limit, "swap": r.memory_limit}
    if r.pids_limit is not None:
        out["pids"] = {"limit": r.pids_limit}
    return out


def host_devices(root: str = "/dev") -> list[dict[str, Any]]:
    """Every character and block device under /dev, as OCI `linux.devices` (for privileged)."""
    skip = {"/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/console", "/dev/ptmx"}
    devices: list[dict[str, Any]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
        for name in filenames:
            path = os.path.join(dirpath, name)
            if path in skip:
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode):
                kind = "c"
            elif stat.S_ISBLK(st.st_mode):
                kind = "b"
            else:
                continue
            devices.append({
                "path": path, "type": kind,
                "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
                "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
            })  # fmt: skip
    return devices


def _rlimits() -> list[dict[str, Any]]:
    """Open files: as many as the host allows without CAP_SYS_RESOURCE (its hard limit)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = hard if hard != resource.RLIM_INFINITY else 1048576
    return [{"type": "RLIMIT_NOFILE", "soft": limit, "hard": limit}]


def build_spec(cfg: ContainerConfig) -> dict[str, Any]:
    """The OCI runtime spec (`config.json`) for one container."""
    caps = capabilities(cfg)
    process: dict[str, Any] = {
        "terminal": cfg.terminal,
        "user": {"uid": cfg.uid, "gid": cfg.gid},
        "args": list(cfg.args),
        "env": list(cfg.env),
        "cwd": cfg.cwd or "/",
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "rlimits": _rlimits(),
        "noNewPrivileges": cfg.no_new_privileges,
    }
    if cfg.additional_gids:
        process["user"]["additionalGids"] = list(cfg.additional_gids)
    if cfg.oom_score_adj is not None:
        process["oomScoreAdj"] = cfg.oom_score_adj

    linux: dict[str, Any] = {
        "namespaces": _namespaces(cfg),
        "resources": _resources(cfg),
    }
    if cfg.cgroups_path:
        linux["cgroupsPath"] = cfg.cgroups_path
    if cfg.privileged:
        linux["devices"] = host_devices()
    else:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)

    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": cfg.rootfs, "readonly": cfg.readonly_rootfs},
        "mounts": _default_mounts(cfg) + [_mount(m) for m in cfg.mounts],
        "linux": linux,
    }
    if cfg.hostname and cfg.uts.mode == "private":
        spec["hostname"] = cfg.hostname
    return spec
