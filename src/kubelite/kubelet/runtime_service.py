"""What the pod workers need from the machine, as one protocol.

`HostRuntime` (host_runtime.py) implements it over `kubelite.runtime` (runc under conmon,
namespaces, CNI, the image store); unit tests use a fake. The kubelet translates a Pod into
these calls; the implementation knows nothing of the API.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubelite.kubelet.records import ContainerInfo, ContainerRecord
from kubelite.runtime.spec import ContainerConfig


@dataclass
class SandboxSpec:
    """The pod-level facts the sandbox needs."""

    pod_uid: str
    namespace: str
    name: str
    hostname: str
    host_network: bool = False
    host_ipc: bool = False
    host_pid: bool = False
    share_process_namespace: bool = False
    subdomain: str = ""
    port_mappings: list[dict[str, Any]] = field(default_factory=list)  # hostPort entries
    host_aliases: list[dict[str, Any]] = field(default_factory=list)
    dns_servers: list[str] = field(default_factory=list)
    dns_searches: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)


@dataclass
class SandboxInfo:
    """A pod's shared namespaces and files, as the containers join them."""

    pod_uid: str
    ip: str
    netns: str | None  # path to join; None: the host's network
    ipc: str | None
    uts: str | None
    pid: str | None = None  # the pod's shared pid namespace (shareProcessNamespace)
    shm_dir: str | None = None
    etc_hosts: str | None = None
    etc_hostname: str | None = None
    resolv_conf: str | None = None


@dataclass
class ImageInfo:
    name: str  # normalised reference: the container status `image`
    ref: str  # repo digest: the container status `imageID`
    config: dict[str, Any]  # Entrypoint, Cmd, Env, WorkingDir, User
    pulled: bool = False  # False: it was present already
    size: int = 0


class RuntimeService(Protocol):
    runtime_name: str

    async def ensure_sandbox(self, spec: SandboxSpec, *, wait_network: bool = True
                             ) -> SandboxInfo:
        """Create the pod's sandbox unless it exists; return it either way. With
        `wait_network=False` it may return before CNI is done (ip empty); calling it again
        with the default waits for the network."""
        ...

    async def remove_sandbox(self, pod_uid: str) -> None:
        """Tear down network and namespaces; idempotent."""
        ...

    async def sandbox_uids(self) -> set[str]:
        ...

    async def pull_image(self, image: str, policy: str,
                         credentials: Iterable[dict[str, Any]] = ()) -> ImageInfo:
        """Make the image present per the pull policy (raises runtime.images errors)."""
        ...

    async def create_container(self, record: ContainerRecord, config: ContainerConfig,
                               image: ImageInfo, pod_qos: str) -> None:
        """Create the container (rootfs, bundle, `runc create` under conmon); not started."""
        ...

    async def start_container(self, cid: str) -> None:
        ...

    async def container_info(self, record: ContainerRecord) -> ContainerInfo:
        ...

    async def wait_container(self, cid: str) -> None:
        """Return when the container has stopped."""
        ...

    async def kill_container(self, cid: str, signal: int) -> None:
        ...

    async def remove_container(self, record: ContainerRecord) -> None:
        """Delete the container and its rootfs; keeps its log file."""
        ...

    async def container_ids(self) -> set[str]:
        ...

    async def exec_sync(self, cid: str, argv: list[str], timeout: float) -> tuple[int, bytes]:
        """Run a command in the container; (exit code, combined output)."""
        ...

    def in_use_images(self) -> set[str]:
        ...
