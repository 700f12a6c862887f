"""Preflight: can this machine run containers? Each problem says what to do about it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

from kubelite.runtime import cgroups
from kubelite.runtime.cni import CNI_BIN_DIR
from kubelite.runtime.oci import CONMON, crun_hybrid_problem

CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")


def _filesystems() -> set[str]:
    try:
        with open("/proc/filesystems") as f:
            return {line.split()[-1] for line in f if line.strip()}
    except OSError:
        return set()


def preflight(runtime_binary: str = "runc", *, cni_bin_dir: str = CNI_BIN_DIR,
              geteuid: Callable[[], int] = os.geteuid,
              which: Callable[[str], str | None] = shutil.which) -> list[str]:
    """Problems that stop the node agent from running containers here (empty when all is well).

    `geteuid` and `which` are the machine's; tests pass their own to play another machine.
    """
    problems: list[str] = []
    if geteuid() != 0:
        problems.append("the node agent must run as root (run it with sudo or as root)")
    name = os.path.basename(runtime_binary)
    if which(runtime_binary) is None:
        problems.append(f"{name} not found: install it (apt-get install {name})")
    elif name == "crun":
        problem = crun_hybrid_problem()
        if problem:
            problems.append(problem)
    if not os.access(CONMON, os.X_OK):
        problems.append(f"conmon not found at {CONMON}: install it (apt-get install conmon)")
    for tool, package in (("ip", "iproute2"), ("unshare", "util-linux"), ("mount", "mount")):
        if which(tool) is None:
            problems.append(f"{tool} not found: install it (apt-get install {package})")
    missing = [p for p in CNI_PLUGINS if not os.access(os.path.join(cni_bin_dir, p), os.X_OK)]
    if missing:
        problems.append(
            f"CNI plugins missing in {cni_bin_dir} ({', '.join(missing)}): "
            "install them (apt-get install containernetworking-plugins)"
        )
    problems += _cgroup_problems()
    fs = _filesystems()
    if "overlay" not in fs:
        problems.append(
            "overlayfs unavailable: the kernel has no overlay filesystem (load it with "
            "`modprobe overlay` or use a kernel with CONFIG_OVERLAY_FS)"
        )
    if not os.path.isdir("/proc/self/ns") or not os.path.exists("/proc/self/ns/net"):
        problems.append("namespaces unavailable: the kernel lacks network namespace support")
    return problems


def _cgroup_problems() -> list[str]:
    try:
        hiers = cgroups.hierarchies()
    except OSError as e:
        return [f"cannot read cgroup mounts: {e}"]
    if not hiers:
        return ["no cgroup filesystem mounted (mount cgroup2 at /sys/fs/cgroup)"]
    layout = cgroups.detect_layout(hiers)
    if layout == "v2":
        ctrls = next(h.controllers for h in hiers if h.version == 2)
        needed: tuple[str, ...] = ("cpu", "memory", "pids")
    else:
        ctrls = tuple(c for h in hiers if h.version == 1 for c in h.controllers)
        needed = ("cpu", "cpuacct", "memory", "pids")
    return [
        f"cgroup {c} controller not mounted (enable it in the kernel and mount it under "
        f"{cgroups.CGROUP_MOUNT})"
        for c in needed
        if c not in ctrls
    ]
