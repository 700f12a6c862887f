"""Paths from users (subPath, item paths, symlinks inside volumes) that must stay inside a volume.

Kubernetes' CVE-2017-1002101 class: a container plants a symlink in a volume it can write
(`ln -s / /vol/escape`) and a later `subPath: escape` mount would expose the host. Here a path
is resolved component by component against the volume root, following symlinks by hand and
refusing any that lead outside; the result is then opened component by component with
O_NOFOLLOW relative to the previous directory (openat), so what gets mounted is exactly the
inode that was checked.
"""

from __future__ import annotations

import errno
import os
import stat

MAX_SYMLINKS = 40  # the kernel's limit (ELOOP)


class UnsafePathError(Exception):
    """A user-supplied path would reach outside its volume."""


def check_relative(path: str, what: str = "path") -> None:
    """Item paths and subPaths: relative, no `..` element (Kubernetes' validatePath rules)."""
    if os.path.isabs(path):
        raise UnsafePathError(f"{what} {path!r} must be a relative path")
    if any(part == ".." for part in path.split("/")):
        raise UnsafePathError(f"{what} {path!r} must not contain '..'")


def _parts(path: str) -> list[str]:
    return [p for p in path.split("/") if p not in ("", ".")]


def resolve_within(base: str, rel: str) -> list[str]:
    """The components, relative to `base`, that `rel` leads to with symlinks followed.

    Raises UnsafePathError when `..` or a symlink (absolute or relative) leaves `base`.
    Components that do not exist yet are kept as written (the caller may create them).
    """
    root = os.path.realpath(base)
    todo = _parts(rel)
    done: list[str] = []
    hops = 0
    while todo:
        comp = todo.pop(0)
        if comp == "..":
            if not done:
                raise UnsafePathError(f"path {rel!r} is outside the volume")
            done.pop()
            continue
        here = os.path.join(root, *done, comp)
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            done.append(comp)
            continue
        if not stat.S_ISLNK(st.st_mode):
            done.append(comp)
            continue
        hops += 1
        if hops > MAX_SYMLINKS:
            raise UnsafePathError(f"path {rel!r}: too many levels of symbolic links")
        target = os.readlink(here)
        if os.path.isabs(target):
            norm = os.path.normpath(target)
            if norm != root and not norm.startswith(root + "/"):
                raise UnsafePathError(
                    f"path {rel!r} is a symlink to {target!r}, outside the volume")
            done = []
            todo = _parts(os.path.relpath(norm, root)) + todo
        else:
            todo = _parts(target) + todo
    return done


def open_within(base: str, parts: list[str], *, create_dirs_mode: int | None = None) -> int:
    """An O_PATH descriptor of base/parts, opened one component at a time with O_NOFOLLOW.

    With `create_dirs_mode`, missing components are made as directories (mkdirat). A symlink
    met here (swapped in after `resolve_within`) is refused. The caller closes the fd.
    """
    flags = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(os.path.realpath(base), flags | os.O_DIRECTORY)
    try:
        for i, comp in enumerate(parts):
            last = i == len(parts) - 1
            try:
                nxt = os.open(comp, flags if last else flags | os.O_DIRECTORY, dir_fd=fd)
            except FileNotFoundError:
                if create_dirs_mode is None:
                    raise
                os.mkdir(comp, create_dirs_mode, dir_fd=fd)
                nxt = os.open(comp, flags | os.O_DIRECTORY, dir_fd=fd)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafePathError(
                        f"path {'/'.join(parts[:i + 1])!r} changed to a symlink or non-directory"
                    ) from e
                raise
            os.close(fd)
            fd = nxt
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                raise UnsafePathError(f"path {'/'.join(parts[:i + 1])!r} is a symlink")
        return fd
    except BaseException:
        os.close(fd)
        raise


def safe_path(base: str, rel: str) -> str:
    """base/rel with symlinks resolved, checked to stay inside base (no descriptor kept)."""
    parts = resolve_within(base, rel)
    return os.path.join(os.path.realpath(base), *parts)
