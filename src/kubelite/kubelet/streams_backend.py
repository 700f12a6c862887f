"""The kubelet server's `StreamBackend` over this node's containers: logs, exec, attach.

Messages are the kubelet's own, so `kubectl` prints what it would on a real cluster.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from kubelite.kubelet.logs import stream_log
from kubelite.kubelet.records import ContainerRecord
from kubelite.kubelet.safepath import UnsafePathError
from kubelite.kubelet.server_backend import LogOptions, PortForwardTarget
from kubelite.kubelet.tar_in_root import has_tar
from kubelite.kubelet.tarcopy import TarProcess, parse_tar_command
from kubelite.runtime.attach import AttachSession
from kubelite.runtime.exec import ExecSession
from kubelite.runtime.netns_dial import dial
from kubelite.runtime.oci import OciError

if TYPE_CHECKING:
    from kubelite.kubelet.kubelet import Kubelet


class _SessionProcess:
    """A runtime session (exec or conmon attach) as the server's `Process`: the shared plumbing."""

    def __init__(self, session: ExecSession | AttachSession) -> None:
        self.session = session

    async def write_stdin(self, data: bytes) -> None:
        await self.session.write_stdin(data)

    async def close_stdin(self) -> None:
        await self.session.close_stdin()

    async def read_stdout(self) -> bytes:
        return await self.session.read_stdout()

    async def read_stderr(self) -> bytes:
        return await self.session.read_stderr()

    async def resize(self, width: int, height: int) -> None:
        self.session.resize(width, height)


class ExecProcess(_SessionProcess):
    """`runc exec` as the server's `Process`."""

    session: ExecSession

    async def wait(self) -> int:
        return await self.session.wait()

    def kill(self) -> None:
        asyncio.get_running_loop().create_task(self.session.kill())


class ConmonAttachProcess(_SessionProcess):
    """attach to a container that keeps stdin open: conmon's socket as the server's `Process`."""

    session: AttachSession

    async def wait(self) -> int:
        await self.session.wait()
        return 0

    def kill(self) -> None:
        self.session.close()  # detach; the container keeps running


class LogAttachProcess:
    """attach without stdin: the container's output from now on, until it stops."""

    def __init__(self, chunks: AsyncIterator[bytes], running: Any) -> None:
        self._chunks = chunks
        self._running = running

    async def write_stdin(self, data: bytes) -> None:
        return None

    async def close_stdin(self) -> None:
        return None

    async def read_stdout(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return b""

    async def read_stderr(self) -> bytes:
        return b""

    async def resize(self, width: int, height: int) -> None:
        return None

    async def wait(self) -> int:
        while await self._running():
            await asyncio.sleep(0.2)
        return 0

    def kill(self) -> None:
        return None


class RuntimeStreamBackend:
    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet

    def _pod(self, namespace: str, pod: str) -> dict[str, Any]:
        found = self.kubelet.find_pod(namespace, pod)
        if found is None:
            raise LookupError(f'pods "{pod}" not found')
        return found

    def _instances(self, pod: dict[str, Any], container: str) -> list[ContainerRecord]:
        syncer = self.kubelet.syncer
        assert syncer is not None
        spec = pod.get("spec") or {}
        names = [c["name"] for c in (spec.get("initContainers") or []) +
                 (spec.get("containers") or []) + (spec.get("ephemeralContainers") or [])]
        if container not in names:
            raise ValueError(f"container {container} is not valid for pod {pod['metadata']['name']}")
        recs = [r for r in syncer.records.for_pod(pod["metadata"]["uid"]) if r.name == container]
        return sorted(recs, key=lambda r: r.attempt)

    def _waiting_message(self, pod: dict[str, Any], container: str) -> str:
        syncer = self.kubelet.syncer
        assert syncer is not None
        waiting = syncer.waiting.get((pod["metadata"]["uid"], container))
        reason = waiting.reason if waiting else "ContainerCreating"
        return (f'container "{container}" in pod "{pod["metadata"]["name"]}" is waiting to '
                f"start: {reason}")

    async def _running(self, rec: ContainerRecord) -> bool:
        syncer = self.kubelet.syncer
        assert syncer is not None
        if syncer.records.get(rec.id) is None:
            return False
        return (await syncer.info(rec)).status == "running"

    async def container_logs(
        self, namespace: str, pod: str, container: str, *, follow: bool, previous: bool,
        tail_lines: int | None, since_seconds: int | None, since_time: str | None,
        timestamps: bool, limit_bytes: int | None,
    ) -> AsyncIterator[bytes]:
        obj = self._pod(namespace, pod)
        recs = self._instances(obj, container)
        if previous:
            if len(recs) < 2:
                raise ValueError(f'previous terminated container "{container}" in pod "{pod}" '
                                 "not found")
            rec = recs[-2]
            follow = False
        else:
            if not recs:
                raise ValueError(self._waiting_message(obj, container))
            rec = recs[-1]
        opts = LogOptions(follow=follow, previous=previous, tail_lines=tail_lines,
                          since_seconds=since_seconds, since_time=since_time,
                          timestamps=timestamps, limit_bytes=limit_bytes)
        async for chunk in stream_log(rec.log_path, opts, running=lambda: self._running(rec)):
            yield chunk

    async def _running_record(self, namespace: str, pod: str, container: str) -> ContainerRecord:
        obj = self._pod(namespace, pod)
        recs = self._instances(obj, container)
        if not recs or not await self._running(recs[-1]):
            raise ValueError(f'container not found ("{container}")')
        return recs[-1]

    async def exec(self, namespace: str, pod: str, container: str, command: list[str], *,
                   tty: bool, stdin: bool) -> Any:
        rec = await self._running_record(namespace, pod, container)
        rt = self.kubelet.runtime
        assert rt is not None
        tar = parse_tar_command(command)
        if tar is not None and not tty:
            # the image's own tar runs in the container (runc exec); without one the kubelet
            # does the copy, inside the container's root (never a host path)
            try:
                root_fd = await rt.open_root(rec.id)
            except (OSError, UnsafePathError, OciError) as e:
                raise ValueError(f'container not found ("{container}"): {e}') from e
            if not await asyncio.to_thread(has_tar, root_fd):
                return TarProcess(root_fd, tar)
            os.close(root_fd)
        session = await rt.exec(rec.id, command, tty=tty, stdin=stdin)
        return ExecProcess(session)

    async def attach(self, namespace: str, pod: str, container: str, *, tty: bool,
                     stdin: bool) -> Any:
        """A container with `stdin: true` is attached through conmon, so stdin reaches it;
        otherwise the client follows its output from now on."""
        rec = await self._running_record(namespace, pod, container)
        rt = self.kubelet.runtime
        assert rt is not None
        containers = (self._pod(namespace, pod).get("spec") or {}).get("containers") or []
        if any(c.get("name") == container and c.get("stdin") for c in containers):
            try:
                return ConmonAttachProcess(await rt.attach(rec.id))
            except OSError:
                pass  # adopted from an agent that ran it without stdin: output only
        chunks = stream_log(rec.log_path, LogOptions(follow=True, tail_lines=0),
                            running=lambda: self._running(rec))
        return LogAttachProcess(chunks, lambda: self._running(rec))

    def port_forward(self, namespace: str, pod: str) -> PortForwardTarget:
        """localhost inside the pod's network namespace (the host's for hostNetwork pods),
        as the CRI runtime's PortForward; the sandbox is looked up at each connection."""
        uid = str(self._pod(namespace, pod)["metadata"]["uid"])
        syncer = self.kubelet.syncer
        assert syncer is not None

        async def connect(port: int) -> Any:
            sandbox = syncer.sandbox_info(uid)
            if sandbox is None:
                raise OSError(f'failed to find sandbox "{uid}" in store: not found')
            return await dial(sandbox.netns, uid, port)

        return PortForwardTarget(uid, connect)
