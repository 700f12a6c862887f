"""A `RuntimeService` in memory, and the rest of a `PodSyncer`'s surroundings, for unit tests.

Containers "run" until killed; nothing touches the machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubelite.kubelet.pod_worker import PodSyncer
from kubelite.kubelet.records import ContainerInfo, ContainerRecord, RecordStore
from kubelite.kubelet.runtime_service import ImageInfo, SandboxInfo, SandboxSpec
from kubelite.runtime.spec import ContainerConfig


class FakeRuntime:
    runtime_name = "runc"

    def __init__(self) -> None:
        self.sandboxes: dict[str, SandboxInfo] = {}
        self.state: dict[str, str] = {}  # cid -> created | running | stopped
        self.exit_codes: dict[str, int] = {}
        self._stopped: dict[str, asyncio.Event] = {}

    async def ensure_sandbox(self, spec: SandboxSpec, *, wait_network: bool = True) -> SandboxInfo:
        sb = self.sandboxes.get(spec.pod_uid)
        if sb is None:
            sb = SandboxInfo(spec.pod_uid, "10.9.0.2", f"/run/netns/{spec.pod_uid}", None, None)
            self.sandboxes[spec.pod_uid] = sb
        return sb

    async def remove_sandbox(self, pod_uid: str) -> None:
        self.sandboxes.pop(pod_uid, None)

    async def sandbox_uids(self) -> set[str]:
        return set(self.sandboxes)

    async def pull_image(self, image: str, policy: str,
                         credentials: Iterable[dict[str, Any]] = ()) -> ImageInfo:
        return ImageInfo(name=image, ref=f"{image}@sha256:{'0' * 64}",
                         config={"Cmd": ["sh"], "Env": ["PATH=/bin"]})

    async def create_container(self, record: ContainerRecord, config: ContainerConfig,
                               image: ImageInfo, pod_qos: str) -> None:
        self.state[record.id] = "created"
        self._stopped[record.id] = asyncio.Event()

    async def start_container(self, cid: str) -> None:
        self.state[cid] = "running"

    async def container_info(self, record: ContainerRecord) -> ContainerInfo:
        status = self.state.get(record.id, "stopped")
        now = datetime.now(UTC)
        if status == "stopped":
            return ContainerInfo(record, "stopped", exit_code=self.exit_codes.get(record.id, 137),
                                 started_at=now, finished_at=now)
        return ContainerInfo(record, status, started_at=now)  # type: ignore[arg-type]

    async def wait_container(self, cid: str) -> None:
        event = self._stopped.get(cid)
        if event is not None:
            await event.wait()

    async def kill_container(self, cid: str, signal: int) -> None:
        if self.state.get(cid) in ("running", "created"):
            self.state[cid] = "stopped"
            self.exit_codes[cid] = 128 + signal
            self._stopped[cid].set()

    async def remove_container(self, record: ContainerRecord) -> None:
        self.state.pop(record.id, None)

    async def container_ids(self) -> set[str]:
        return set(self.state)

    async def exec_sync(self, cid: str, argv: list[str], timeout: float) -> tuple[int, bytes]:
        return 0, b""

    def in_use_images(self) -> set[str]:
        return set()


class FakeClient:
    """The API calls a PodSyncer makes: records deletes, finds nothing."""

    def __init__(self) -> None:
        self.deleted: list[tuple[str, str]] = []

    async def delete(self, kind: str, name: str, namespace: str | None = None,
                     **kw: Any) -> None:
        self.deleted.append((kind, name))

    async def get(self, *a: Any, **kw: Any) -> Any:
        from kubelite.client import NotFound

        raise NotFound({"code": 404, "reason": "NotFound"})


class FakeEvents:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, str]] = []

    def emit(self, pod: dict[str, Any], reason: str, message: str, *, warning: bool = False,
             container: str | None = None) -> None:
        self.emitted.append((reason, message))


class Harness:
    """A PodSyncer over fakes, with every status it published."""

    def __init__(self, tmp: Path) -> None:
        self.rt = FakeRuntime()
        self.client = FakeClient()
        self.events = FakeEvents()
        self.statuses: list[dict[str, Any]] = []
        self.requeued: list[str] = []
        self.syncer = PodSyncer(
            self.rt, RecordStore(str(tmp / "kubelet")), self.client,  # type: ignore[arg-type]
            self.events, self._set_status, lambda uid, delay: self.requeued.append(uid),  # type: ignore[arg-type]
            node_name="node-a", node_ip="127.0.0.1", logs_dir=str(tmp / "logs"))

    def _set_status(self, uid: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.statuses.append(status)

    async def close(self) -> None:
        for task in list(self.syncer._waiters.values()):
            task.cancel()
        await self.syncer.probes.stop()


def pod(name: str = "web", uid: str = "uid-1", **spec: Any) -> dict[str, Any]:
    """A one-container pod bound to node-a."""
    return {
        "metadata": {"name": name, "namespace": "default", "uid": uid},
        "spec": {"nodeName": "node-a", "containers": [{"name": "main", "image": "busybox:1"}],
                 **spec},
        "status": {},
    }
