"""A `StreamBackend` that runs commands as host processes: for tests and development.

Each "container" is a directory standing in for the container's root: commands run with it
as their working directory (so `kubectl cp` with relative paths stays inside it), logs are
CRI-format files beside it. Attach starts the container's `attach_command` (default `sh`),
standing in for the main process. Nothing here is isolated: never expose it to a network.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import termios
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from kubelite.kubelet.logs import stream_log
from kubelite.kubelet.server_backend import LogOptions, PortForwardTarget, Process
from kubelite.runtime.netns_dial import dial

CHUNK = 32 * 1024


def _exit_code(returncode: int) -> int:
    """A shell-style exit code: 128 + N for a process killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


class PipeProcess:
    """A process with pipes for stdin/stdout/stderr."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def write_stdin(self, data: bytes) -> None:
        if self.proc.stdin is None or self.proc.stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError):
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()

    async def close_stdin(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()

    async def read_stdout(self) -> bytes:
        return await self.proc.stdout.read(CHUNK) if self.proc.stdout else b""

    async def read_stderr(self) -> bytes:
        return await self.proc.stderr.read(CHUNK) if self.proc.stderr else b""

    async def resize(self, width: int, height: int) -> None:
        return None

    async def wait(self) -> int:
        return _exit_code(await self.proc.wait())

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()


def _take_controlling_tty() -> None:  # runs in the child, after setsid
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyProcess:
    """A process on a pseudo-terminal: one output stream, resizable."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int, reader: asyncio.StreamReader) -> None:
        self.proc, self._master, self._reader = proc, master, reader

    @classmethod
    async def start(cls, command: list[str], cwd: Path) -> PtyProcess:
        master, slave = os.openpty()
        try:
            proc = await asyncio.create_subprocess_exec(
                *command, cwd=cwd, stdin=slave, stdout=slave, stderr=slave,
                start_new_session=True, preexec_fn=_take_controlling_tty,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(master), "rb", 0))
        return cls(proc, master, reader)

    async def write_stdin(self, data: bytes) -> None:
        while data:
            try:
                n = os.write(self._master, data)
            except BlockingIOError:
                await asyncio.sleep(0.01)
                continue
            except OSError:
                return
            data = data[n:]

    async def close_stdin(self) -> None:
        await self.write_stdin(b"\x04")  # end-of-file for the terminal's reader

    async def read_stdout(self) -> bytes:
        try:
            return await self._reader.read(CHUNK)
        except OSError:  # EIO once the terminal's last user has gone
            return b""

    async def read_stderr(self) -> bytes:
        return b""

    async def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.ioctl(self._master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def wait(self) -> int:
        code = _exit_code(await self.proc.wait())
        with contextlib.suppress(OSError):
            os.close(self._master)
        return code

    def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


@dataclass
class LocalContainer:
    """A container of the local backend: a root directory and its log files."""

    dir: Path
    attach_command: list[str] = field(default_factory=lambda: ["sh"])

    @property
    def rootfs(self) -> Path:
        return self.dir / "rootfs"

    @property
    def log_path(self) -> Path:
        return self.dir / "current.log"

    @property
    def previous_log_path(self) -> Path:
        return self.dir / "previous.log"

    @property
    def running(self) -> bool:
        return (self.dir / "running").exists()

    def set_running(self, running: bool) -> None:
        marker = self.dir / "running"
        if running:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)


class LocalProcessBackend:
    """Runs exec/attach as host processes and serves logs from CRI files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.containers: dict[tuple[str, str, str], LocalContainer] = {}

    def add_container(self, namespace: str, pod: str, container: str, *, running: bool = True) -> LocalContainer:
        c = LocalContainer(self.root / f"{namespace}_{pod}" / container)
        c.rootfs.mkdir(parents=True, exist_ok=True)
        c.log_path.touch()
        c.set_running(running)
        self.containers[(namespace, pod, container)] = c
        return c

    def _find(self, namespace: str, pod: str, container: str) -> LocalContainer:
        c = self.containers.get((namespace, pod, container))
        if c is None:
            raise LookupError(f'container "{container}" in pod "{pod}" is not available')
        return c

    async def container_logs(
        self, namespace: str, pod: str, container: str, *, follow: bool, previous: bool,
        tail_lines: int | None, since_seconds: int | None, since_time: str | None,
        timestamps: bool, limit_bytes: int | None,
    ) -> AsyncIterator[bytes]:
        c = self._find(namespace, pod, container)
        path = c.log_path
        if previous:
            path = c.previous_log_path
            if not path.exists():
                raise ValueError(f'previous terminated container "{container}" in pod "{pod}" not found')
            follow = False
        opts = LogOptions(follow=follow, previous=previous, tail_lines=tail_lines, since_seconds=since_seconds,
                          since_time=since_time, timestamps=timestamps, limit_bytes=limit_bytes)
        async def running() -> bool:
            return c.running

        async for chunk in stream_log(str(path), opts, running=running):
            yield chunk

    async def exec(
        self, namespace: str, pod: str, container: str, command: list[str], *, tty: bool, stdin: bool
    ) -> Process:
        c = self._find(namespace, pod, container)
        if not c.running:
            raise ValueError(f"container {container} is not running")
        return await self._start(command, c.rootfs, tty=tty, stdin=stdin)

    async def attach(self, namespace: str, pod: str, container: str, *, tty: bool, stdin: bool) -> Process:
        c = self._find(namespace, pod, container)
        return await self._start(c.attach_command, c.rootfs, tty=tty, stdin=stdin)

    @staticmethod
    async def _start(command: list[str], cwd: Path, *, tty: bool, stdin: bool) -> Process:
        if tty:
            return await PtyProcess.start(command, cwd)
        try:
            proc = await asyncio.create_subprocess_exec(
                *command, cwd=cwd, stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True,
            )
        except FileNotFoundError as e:
            raise RuntimeError(
                f'exec failed: unable to start container process: exec: "{command[0]}": '
                "executable file not found in $PATH") from e
        return PipeProcess(proc)

    def port_forward(self, namespace: str, pod: str) -> PortForwardTarget:
        """This host's localhost, for a pod that has any container here."""
        if not any(key[:2] == (namespace, pod) for key in self.containers):
            raise LookupError(f'pod "{pod}" is not available')
        sandbox_id = f"{namespace}_{pod}"
        return PortForwardTarget(sandbox_id, lambda port: dial(None, sandbox_id, port))
