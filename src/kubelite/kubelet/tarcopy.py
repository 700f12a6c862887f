"""`kubectl cp` into a container whose image has no `tar`: the kubelet does the tar work.

kubectl runs `tar cf - SRC` (copy out of the pod) or `tar -xmf - -C DEST` / `tar xmf - -C DEST`
(copy in). When the image lacks `tar`, the kubelet answers those two commands itself against
the container's root filesystem. Every path is resolved inside that root, symlinks included
(as a chroot would resolve them), and archive entries that would land outside DEST are refused.
"""

from __future__ import annotations

import asyncio
import io
import os
import posixpath
import tarfile
from dataclasses import dataclass

TAR_PATHS = ("bin/tar", "usr/bin/tar", "sbin/tar", "usr/sbin/tar", "usr/local/bin/tar")
MAX_SYMLINKS = 40


class PathEscapeError(ValueError):
    pass


def has_tar(rootfs: str) -> bool:
    return any(os.path.lexists(os.path.join(rootfs, p)) for p in TAR_PATHS)


def resolve_in_root(root: str, path: str, *, follow_last: bool = True) -> str:
    """The host path of `path` inside `root`, resolving symlinks as if `root` were `/`."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        if os.path.islink(candidate) and (parts or follow_last):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise PathEscapeError(f"too many levels of symbolic links: {path}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)


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


def create_archive(root: str, paths: list[str]) -> bytes:
    """`tar cf - PATH...` relative to `/` of the container, member names as tar writes them."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path in paths:
            host = resolve_in_root(root, path, follow_last=False)
            if not os.path.lexists(host):
                raise FileNotFoundError(f"tar: {path}: Cannot stat: No such file or directory")
            arcname = path.lstrip("/") or "."
            tar.add(host, arcname=arcname, recursive=True)
    return buf.getvalue()


def extract_archive(root: str, directory: str, data: bytes) -> None:
    """`tar -xf - -C DIR` into the container; entries escaping DIR are refused."""
    dest = resolve_in_root(root, directory)
    os.makedirs(dest, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar.getmembers():
            name = posixpath.normpath(member.name)
            if name.startswith("/") or name == ".." or name.startswith("../"):
                raise PathEscapeError(f"tar: refusing to write outside {directory}: {member.name}")
            target = resolve_in_root(dest, name, follow_last=False)
            if not (target == dest or target.startswith(dest.rstrip("/") + "/")):
                raise PathEscapeError(f"tar: refusing to write outside {directory}: {member.name}")
            if member.issym() or member.islnk():
                link = member.linkname
                if member.islnk() or link.startswith("/"):
                    base = dest if member.islnk() else root
                else:
                    base = os.path.dirname(target)
                check = os.path.normpath(os.path.join(base, link.lstrip("/") if
                                                      link.startswith("/") else link))
                if not check.startswith(root.rstrip("/") + "/"):
                    raise PathEscapeError(f"tar: refusing link outside the container: {member.name}")
            tar.extract(member, dest, set_attrs=False, filter="fully_trusted")


class TarProcess:
    """A `Process` (see server_backend) that runs kubectl's tar command in the kubelet."""

    def __init__(self, root: str, command: TarCommand) -> None:
        self.root = root
        self.command = command
        self._stdin = bytearray()
        self._stdin_closed = asyncio.Event()
        self._out: asyncio.Queue[bytes] = asyncio.Queue()
        self._err: asyncio.Queue[bytes] = asyncio.Queue()
        self._code = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            if self.command.mode == "create":
                data = await asyncio.to_thread(create_archive, self.root, self.command.paths)
                for i in range(0, len(data), 65536):
                    self._out.put_nowait(data[i:i + 65536])
            else:
                await self._stdin_closed.wait()
                await asyncio.to_thread(extract_archive, self.root, self.command.directory,
                                        bytes(self._stdin))
        except (OSError, ValueError, tarfile.TarError) as e:
            self._err.put_nowait(f"{e}\n".encode())
            self._code = 2
        finally:
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
