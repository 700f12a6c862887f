"""Paths from users and containers resolved inside a root, never with the host's resolution.

Two roots, two policies, one walk:

- a container's root (`kubectl cp` without tar): resolved as the kernel's `openat2`
  RESOLVE_IN_ROOT would, as if the root were `/`. `..` stops at the root and an absolute
  symlink planted by the container (`ln -s /etc /tmp/x`) starts again at the root, so every
  name lands inside the container, whatever it says (the CVE-2018-1002100 class).
- a volume (subPath, item paths): Kubernetes' CVE-2017-1002101 rules. A symlink that leads
  outside the volume, or `..` above it, is refused (UnsafePathError).

Every component is opened with O_PATH | O_NOFOLLOW relative to the directory descriptor of the
one before, symlinks are read from their own descriptor and followed by hand, and `..` pops a
stack of descriptors instead of asking the kernel: no component is ever resolved by a path
string, so a symlink swapped in between two steps changes nothing (no check-then-use race).
Descriptors opened from /proc/PID/root see the container's own mounts (its volumes) too.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from dataclasses import dataclass, field

MAX_SYMLINKS = 40  # the kernel's limit (ELOOP)
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePathError(Exception):
    """A user-supplied path would reach outside its root (or cannot be resolved safely)."""


def check_relative(path: str, what: str = "path") -> None:
    """Item paths and subPaths: relative, no `..` element (Kubernetes' validatePath rules)."""
    if os.path.isabs(path):
        raise UnsafePathError(f"{what} {path!r} must be a relative path")
    if any(part == ".." for part in path.split("/")):
        raise UnsafePathError(f"{what} {path!r} must not contain '..'")


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def open_dir(path: str) -> int:
    """An O_PATH descriptor of the directory `path` (a trusted, host-side root)."""
    return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def open_process_root(pid: int, rootfs: str) -> int:
    """An O_PATH descriptor of `/` as process `pid` sees it (its mount namespace: volumes too).

    Checked to be the root filesystem mounted at `rootfs`, so a pid that exited and was reused
    by a host process can never hand out the host's `/`.
    """
    fd = os.open(f"/proc/{pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        got, want = os.fstat(fd), os.stat(rootfs)
    except OSError:
        os.close(fd)
        raise
    if (got.st_dev, got.st_ino) != (want.st_dev, want.st_ino):
        os.close(fd)
        raise UnsafePathError(f"process {pid} does not run in the root filesystem {rootfs}")
    return fd


def chmod_fd(fd: int, mode: int) -> None:
    """chmod what an O_PATH descriptor refers to (fchmod refuses O_PATH; Linux has no lchmod).

    /proc/self/fd/N leads to the very inode the descriptor holds, whatever its name is now.
    """
    os.chmod(f"/proc/self/fd/{fd}", mode)


@dataclass
class _Walk:
    """One resolution: a stack of (descriptor, name) from the root down to where we are."""

    root_fd: int
    confine: bool  # True: clamp to the root (container); False: refuse escapes (volume)
    host_root: str = ""  # the root's host path: absolute symlinks under it are fine (volumes)
    fds: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fds.append(os.dup(self.root_fd))

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()

    def up(self, path: str) -> None:
        if len(self.fds) > 1:
            os.close(self.fds.pop())
            self.names.pop()
        elif not self.confine:
            raise UnsafePathError(f"path {path!r} is outside the volume")

    def to_root(self) -> None:
        while len(self.fds) > 1:
            os.close(self.fds.pop())
        self.names.clear()

    def symlink_target(self, fd: int, path: str) -> list[str]:
        """The components to walk instead of a symlink (absolute ones from the root)."""
        target = os.readlink("", dir_fd=fd)
        if not target.startswith("/"):
            return _parts(target)
        self.to_root()
        if self.confine:
            return _parts(target)
        norm = os.path.normpath(target)
        root = self.host_root.rstrip("/")
        if norm != root and not norm.startswith(root + "/"):
            raise UnsafePathError(f"path {path!r} is a symlink to {target!r}, outside the volume")
        return _parts(norm[len(root):])

    def walk(self, path: str, *, follow_last: bool = True, mkdir_mode: int | None = None,
             want_dir: bool = False, missing_ok: bool = False) -> list[str]:
        """Walk `path`; with `missing_ok`, the components left from the first missing one.

        With `mkdir_mode`, missing components named by `path` itself are made as directories
        (as `mkdir -p` would; never at the end of a dangling symlink). With `want_dir`, the
        last component must be a directory too.
        """
        todo = deque((p, False) for p in _parts(path))
        hops = 0
        while todo:
            comp, from_link = todo.popleft()
            if comp == "..":
                self.up(path)
                continue
            last = not todo
            try:
                fd = os.open(comp, _PATH_FLAGS, dir_fd=self.fds[-1])
            except FileNotFoundError:
                if mkdir_mode is not None and not from_link:
                    os.mkdir(comp, mkdir_mode, dir_fd=self.fds[-1])
                    todo.appendleft((comp, from_link))
                    continue
                if not missing_ok:
                    raise
                return [comp, *(p for p, _ in todo)]
            mode = os.fstat(fd).st_mode
            if stat.S_ISLNK(mode) and (follow_last or not last):
                hops += 1
                try:
                    if hops > MAX_SYMLINKS:
                        raise UnsafePathError(f"path {path!r}: too many levels of symbolic links")
                    todo.extendleft((p, True) for p in reversed(self.symlink_target(fd, path)))
                finally:
                    os.close(fd)
                continue
            if (want_dir or not last) and not stat.S_ISDIR(mode):
                os.close(fd)
                raise NotADirectoryError(errno.ENOTDIR, f"{comp!r} is not a directory", path)
            self.fds.append(fd)
            self.names.append(comp)
        return []

    def take(self) -> int:
        """The descriptor reached (the caller closes it); the walk is spent."""
        fd = self.fds.pop()
        self.close()
        return fd


# -- a container's root: clamp ---------------------------------------------------------------


def open_in_root(root_fd: int, path: str, *, follow_last: bool = True,
                 mkdir_mode: int | None = None) -> int:
    """An O_PATH descriptor of `path` resolved inside the root `root_fd` (RESOLVE_IN_ROOT).

    With `mkdir_mode`, missing directories along `path` (the last one too) are made.
    Raises FileNotFoundError / NotADirectoryError as open(2) would; the caller closes the fd.
    """
    w = _Walk(root_fd, confine=True)
    try:
        w.walk(path, follow_last=follow_last, mkdir_mode=mkdir_mode,
               want_dir=mkdir_mode is not None)
        return w.take()
    finally:
        w.close()


def open_parent_in_root(root_fd: int, path: str, *,
                        mkdir_mode: int | None = None) -> tuple[int, str]:
    """The directory holding `path`'s last component (an O_PATH fd) and that name.

    The last component itself is not resolved: the caller creates, replaces or reads it with
    `dir_fd=` calls that do not follow it. `path` naming the root itself gives (root, ".").
    """
    parts = _parts(path)
    while parts and parts[-1] == "..":
        parts = parts[:-2] if len(parts) > 1 else []  # lexical: "a/.." is the root's "."
    if not parts:
        return os.dup(root_fd), "."
    w = _Walk(root_fd, confine=True)
    try:
        w.walk("/".join(parts[:-1]), mkdir_mode=mkdir_mode, want_dir=True)
        return w.take(), parts[-1]
    finally:
        w.close()


# -- a volume: refuse ------------------------------------------------------------------------


def resolve_within(base: str, rel: str) -> list[str]:
    """The components, relative to `base`, that `rel` leads to with symlinks followed.

    Raises UnsafePathError when `..` or a symlink (absolute or relative) leaves `base`.
    Components that do not exist yet are kept as written (the caller may create them).
    """
    root = os.path.realpath(base)
    root_fd = open_dir(root)
    w = _Walk(root_fd, confine=False, host_root=root)
    try:
        rest = w.walk(rel, missing_ok=True)
        names = list(w.names)
    finally:
        w.close()
        os.close(root_fd)
    for comp in rest:
        if comp != "..":
            names.append(comp)
        elif names:
            names.pop()
        else:
            raise UnsafePathError(f"path {rel!r} is outside the volume")
    return names


def open_within(base: str, rel: str, *, create_dirs_mode: int | None = None) -> int:
    """An O_PATH descriptor of base/rel, refusing any way out of `base` (see resolve_within).

    With `create_dirs_mode`, missing components are made as directories. The caller closes it.
    """
    root = os.path.realpath(base)
    root_fd = open_dir(root)
    w = _Walk(root_fd, confine=False, host_root=root)
    try:
        w.walk(rel, mkdir_mode=create_dirs_mode)
        return w.take()
    except NotADirectoryError as e:
        raise UnsafePathError(f"path {rel!r} goes through a non-directory") from e
    finally:
        w.close()
        os.close(root_fd)


def safe_path(base: str, rel: str) -> str:
    """base/rel with symlinks resolved, checked to stay inside base (no descriptor kept)."""
    parts = resolve_within(base, rel)
    return os.path.join(os.path.realpath(base), *parts)
