"""subPath mounts: a verified bind mount for writable volumes, a kept-in-sync copy for
configMap/secret/downwardAPI/projected ones.

Writable volumes (emptyDir, hostPath, PVCs) may hold symlinks a container planted, so the
subPath is resolved inside the volume, opened with O_NOFOLLOW one component at a time, and that
descriptor is bind-mounted at `<pod>/volume-subpaths/<volume>/<container>/<index>`; the runtime
mounts that stable path.

For the kubelet-written volumes Kubernetes mounts the file behind `..data` once and never
updates it. Here the subPath target is mirrored into a file (or directory) of ours that is
rewritten in place when the object changes, so the container's bind mount shows new content.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat

from kubelite.kubelet.safepath import (
    UnsafePathError,
    check_relative,
    open_within,
    resolve_within,
)
from kubelite.kubelet.volumes.syscalls import bind_fd, is_mounted, unmount


def bind_subpath(volume: str, sub: str, target: str) -> None:
    """Bind-mount volume/sub (made as a directory when missing) at `target`."""
    check_relative(sub, "subPath")
    mode = stat.S_IMODE(os.stat(volume).st_mode)
    fd = open_within(volume, sub, create_dirs_mode=mode)
    try:
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        if os.path.lexists(target):
            if is_mounted(target):
                unmount(target)
            if os.path.isdir(target) and not os.path.islink(target):
                with contextlib.suppress(OSError):
                    os.rmdir(target)
            else:
                os.unlink(target)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if is_dir:
            os.mkdir(target, 0o750)
        else:
            open(target, "a").close()
        bind_fd(fd, target)
    finally:
        os.close(fd)


def _write_in_place(path: str, data: bytes, mode: int) -> None:
    """Rewrite `path`'s content keeping its inode (a bind mount of it sees the change)."""
    try:
        with open(path, "rb") as f:
            if f.read() == data and stat.S_IMODE(os.stat(path).st_mode) == mode:
                return
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, data)
        os.ftruncate(fd, len(data))
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def sync_mirror(volume: str, sub: str, mirror: str) -> None:
    """Make `mirror` hold what volume/sub holds now (a file, or a directory tree)."""
    check_relative(sub, "subPath")
    source = os.path.join(os.path.realpath(volume), *resolve_within(volume, sub))
    os.makedirs(os.path.dirname(mirror), exist_ok=True)
    if os.path.isfile(source):
        if os.path.isdir(mirror) and not os.path.islink(mirror):
            raise UnsafePathError(f"subPath {sub!r} changed from a directory to a file")
        with open(source, "rb") as f:
            data = f.read()
        _write_in_place(mirror, data, stat.S_IMODE(os.stat(source).st_mode))
        return
    if os.path.lexists(mirror) and not os.path.isdir(mirror):
        raise UnsafePathError(f"subPath {sub!r} changed from a file to a directory")
    os.makedirs(mirror, mode=0o755, exist_ok=True)
    if not os.path.isdir(source):
        return  # an absent key: an empty directory, as Kubernetes would make
    wanted: set[str] = set()
    for dirpath, dirs, files in os.walk(source):
        rel = os.path.relpath(dirpath, source)
        for d in dirs:
            os.makedirs(os.path.join(mirror, rel, d), mode=0o755, exist_ok=True)
            wanted.add(os.path.normpath(os.path.join(rel, d)))
        for name in files:
            src = os.path.join(dirpath, name)
            if os.path.islink(src):
                continue
            rel_file = os.path.normpath(os.path.join(rel, name))
            wanted.add(rel_file)
            with open(src, "rb") as f:
                _write_in_place(os.path.join(mirror, rel_file), f.read(),
                                stat.S_IMODE(os.stat(src).st_mode))
    for dirpath, dirs, files in os.walk(mirror, topdown=False):
        for name in [*files, *dirs]:
            full = os.path.join(dirpath, name)
            if os.path.relpath(full, mirror) not in wanted:
                if os.path.isdir(full) and not os.path.islink(full):
                    shutil.rmtree(full, ignore_errors=True)
                else:
                    os.unlink(full)
