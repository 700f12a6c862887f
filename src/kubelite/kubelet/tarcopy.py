"""`kubectl cp` into a container whose image has no `tar`: the kubelet does the tar work.

kubectl runs `tar cf - SRC` (copy out of the pod) or `tar -xmf - -C DEST` / `tar xmf - -C DEST`
(copy in). With `tar` in the image those run in the container (`runc exec`), as on Kubernetes.
Without it the kubelet answers those two commands itself, inside the container's root as its
processes see it (tar_in_root.py): nothing a container planted and nothing an archive says can
make it read or write a host path.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kubelite.kubelet.safepath import UnsafePathError
from kubelite.kubelet.tar_in_root import create_archive, extract_archive

_T = TypeVar("_T")


@dataclass
class TarCommand:
    mode: str  # "create" or "extract"
    paths: list[str]
    directory: str = "/"


def parse_tar_command(argv: list[str]) -> TarCommand | None:
    """The two tar invocations kubectl cp makes, or None for anything else."""
    if not argv or posixpath.basename(argv[0]) != "tar":
        return None
    args = argv[1:]
    mode = ""
    directory = "/"
    paths: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-C" and i + 1 < len(args):
            directory = args[i + 1]
            i += 2
            continue
        if a.startswith("--"):
            i += 1
            continue
        if a == "-":
            i += 1
            continue
        letters = a.lstrip("-") if (a.startswith("-") or i == 0) else ""
        if letters and set(letters) <= set("cxfmvpoz"):
            if "c" in letters:
                mode = "create"
            if "x" in letters:
                mode = "extract"
            i += 1
            continue
        paths.append(a)
        i += 1
    if not mode:
        return None
    return TarCommand(mode, paths, directory)


class TarProcess:
    """A `Process` (see server_backend) that runs kubectl's tar command in the kubelet.

    It owns `root_fd` (the container's `/`, see HostRuntime.open_root): the worker thread
    closes it when it is done, so a killed copy never leaves the thread a recycled fd number.
    """

    def __init__(self, root_fd: int, command: TarCommand) -> None:
        self._root_fd = root_fd
        self.command = command
        self._stdin = bytearray()
        self._stdin_closed = asyncio.Event()
        self._out: asyncio.Queue[bytes] = asyncio.Queue()
        self._err: asyncio.Queue[bytes] = asyncio.Queue()
        self._code = 0
        self._task = asyncio.create_task(self._run())
        self._task.add_done_callback(lambda _t: self._drop())

    def _release(self) -> int:
        """Hand the root descriptor over (to the worker thread, which closes it)."""
        fd, self._root_fd = self._root_fd, -1
        return fd

    def _drop(self) -> None:
        """Close the root descriptor if no thread took it (killed early, or never started)."""
        fd = self._release()
        if fd >= 0:
            os.close(fd)

    async def _run(self) -> None:
        try:
            if self.command.mode == "create":
                data = await asyncio.to_thread(_closing, create_archive, self._release(),
                                               self.command.paths)
                for i in range(0, len(data), 65536):
                    self._out.put_nowait(data[i:i + 65536])
            else:
                await self._stdin_closed.wait()
                errors = await asyncio.to_thread(_closing, extract_archive, self._release(),
                                                 self.command.directory, bytes(self._stdin))
                if errors:
                    self._err.put_nowait("".join(f"{e}\n" for e in errors).encode())
                    self._code = 2
        except (OSError, ValueError, UnsafePathError, tarfile.TarError) as e:
            self._err.put_nowait(f"{e}\n".encode())
            self._code = 2
        finally:
            self._drop()
            self._out.put_nowait(b"")
            self._err.put_nowait(b"")

    async def write_stdin(self, data: bytes) -> None:
        self._stdin.extend(data)

    async def close_stdin(self) -> None:
        self._stdin_closed.set()

    async def read_stdout(self) -> bytes:
        data = await self._out.get()
        if not data:
            self._out.put_nowait(b"")
        return data

    async def read_stderr(self) -> bytes:
        data = await self._err.get()
        if not data:
            self._err.put_nowait(b"")
        return data

    async def resize(self, width: int, height: int) -> None:
        return None

    async def wait(self) -> int:
        await self._task
        return self._code

    def kill(self) -> None:
        self._stdin_closed.set()
        self._task.cancel()


def _closing(work: Callable[..., _T], root_fd: int, *args: Any) -> _T:
    """Run `work(root_fd, *args)` and close `root_fd` after it (in the worker thread)."""
    try:
        return work(root_fd, *args)
    finally:
        os.close(root_fd)
