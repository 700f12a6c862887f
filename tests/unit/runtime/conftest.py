"""Fixtures for the runtime tests: a busybox rootfs and a throwaway "node" (runtime state,
cgroup root, sandboxes, bridge network) with unique names, torn down even when a test fails."""

from __future__ import annotations

import random
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kubelite.runtime import cgroups
from kubelite.runtime.cni import CniNetwork, teardown_network
from kubelite.runtime.oci import ContainerState, OciRuntime
from kubelite.runtime.sandbox import SandboxConfig, SandboxInfo, SandboxManager
from kubelite.runtime.spec import ContainerConfig, Namespace, build_spec

PATH_ENV = "PATH=/bin:/sbin:/usr/bin:/usr/sbin"


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A read-only-able busybox rootfs, shared by every container of the session."""
    root = tmp_path_factory.mktemp("rootfs") / "rootfs"
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "tmp", "root",
              "www"):  # fmt: skip
        (root / d).mkdir(parents=True)
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    subprocess.run(["chroot", str(root), "/bin/busybox", "--install", "-s"], check=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    for name in ("hosts", "hostname", "resolv.conf"):  # mount points for the sandbox's files
        (root / "etc" / name).write_text("")
    (root / "www" / "index.html").write_text("hello from A\n")
    return str(root)


def free_cidr() -> str:
    """A /24 in 10.200.0.0-10.249.255.0 that no route on this machine uses yet."""
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    while True:
        cidr = f"10.{random.randint(200, 249)}.{random.randint(0, 255)}"
        if cidr + "." not in routes:
            return cidr + ".0/24"


@dataclass
class Node:
    """One test's slice of the machine. Every name carries the run's random suffix."""

    base: Path
    suffix: str
    rootfs: str
    runtime: OciRuntime
    cgroups: cgroups.PodCgroups
    sandboxes: SandboxManager
    network: CniNetwork
    bundles: list[str] = field(default_factory=list)

    def config(
        self, args: list[str], *, pod_uid: str = "p1", cid: str = "", **kw: Any
    ) -> ContainerConfig:
        kw.setdefault("env", [PATH_ENV])
        kw.setdefault("readonly_rootfs", True)
        return ContainerConfig(
            args=args,
            rootfs=self.rootfs,
            cgroups_path=self.cgroups.container_path("Burstable", pod_uid, cid or "c"),
            **kw,
        )

    def in_sandbox(
        self, info: SandboxInfo, args: list[str], cid: str, **kw: Any
    ) -> ContainerConfig:
        """A container joining the sandbox's network, IPC and UTS namespaces and files."""
        return self.config(
            args,
            pod_uid=info.name,
            cid=cid,
            network=Namespace.join(info.netns_path) if info.netns_path else Namespace.host(),
            ipc=Namespace.join(info.ipc_path) if info.ipc_path else Namespace.host(),
            uts=Namespace.join(info.uts_path) if info.uts_path else Namespace.host(),
            pid=Namespace.join(info.pid_path) if info.pid_path else Namespace.private(),
            shm_dir=info.shm_dir,
            etc_hosts=info.hosts_path,
            etc_hostname=info.hostname_path,
            resolv_conf=info.resolv_path,
            **kw,
        )

    async def run(self, cid: str, cfg: ContainerConfig) -> str:
        """Create and start a container; returns its log path."""
        bundle = str(self.base / "bundles" / cid)
        log = str(self.base / "logs" / f"{cid}.log")
        await self.runtime.create(cid, bundle, build_spec(cfg), log)
        await self.runtime.start(cid)
        return log

    async def run_to_end(self, cid: str, cfg: ContainerConfig) -> tuple[ContainerState, str]:
        log = await self.run(cid, cfg)
        state = await self.runtime.wait(cid)
        return state, Path(log).read_text()

    async def sandbox(self, name: str, **kw: Any) -> SandboxInfo:
        """A sandbox with its network attached (unless hostNetwork)."""
        kw.setdefault("hostname", name)
        info = await self.sandboxes.create_sandbox(SandboxConfig(name=name, **kw))
        if info.netns_path:
            ip = await self.network.add(name, info.netns_path)
            info = await self.sandboxes.set_pod_ip(name, ip)
        return info


@pytest.fixture
async def node(rootfs: str, tmp_path: Path) -> AsyncIterator[Node]:
    suffix = uuid.uuid4().hex[:6]
    state = tmp_path / "state"
    n = Node(
        base=tmp_path,
        suffix=suffix,
        rootfs=rootfs,
        runtime=OciRuntime("runc", str(state / "runtime")),
        cgroups=cgroups.PodCgroups(f"kubelite-test-{suffix}"),
        sandboxes=SandboxManager(f"kltest-{suffix}", str(state / "sandboxes")),
        network=CniNetwork(f"kltbr{suffix}", free_cidr(), str(state / "ipam")),
    )
    try:
        yield n
    finally:
        await teardown(n)


async def teardown(n: Node) -> None:
    """Containers, then pod networks, sandboxes, the bridge, cgroups; each step tried even if
    an earlier one failed."""
    errors: list[BaseException] = []
    try:
        for st in await n.runtime.list():
            try:
                await n.runtime.delete(st.id, force=True)
            except Exception as e:
                errors.append(e)
    except Exception as e:
        errors.append(e)
    for info in n.sandboxes.find_sandboxes():
        try:
            await n.network.delete(info.name, info.netns_path)
        except Exception as e:
            errors.append(e)
        try:
            await n.sandboxes.destroy_sandbox(info.name)
        except Exception as e:
            errors.append(e)
    try:
        await teardown_network(n.network.bridge_name)
    except Exception as e:
        errors.append(e)
    try:
        n.cgroups.remove_root()
    except Exception as e:
        errors.append(e)
    if errors:
        raise errors[0]
