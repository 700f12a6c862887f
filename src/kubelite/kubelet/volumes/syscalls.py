"""The few mount(2) calls volumes need: tmpfs, bind mounts of verified file descriptors, unmount.

`unmount` and `is_mounted` come from the image store's rootfs helpers (same semantics: lazy when
busy, "not mounted" is not an error).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from kubelite.runtime.images.rootfs import is_mounted, unmount

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_BIND = 4096
MS_REMOUNT = 32

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    rc = _libc.mount(os.fsencode(source), os.fsencode(target),
                     fstype.encode() if fstype else None, flags,
                     data.encode() if data else None)
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def mount_tmpfs(target: str, size_bytes: int | None = None, mode: int = 0o777) -> None:
    """A tmpfs at `target` (made if missing); no-op when one is mounted there already."""
    os.makedirs(target, exist_ok=True)
    if is_mounted(target):
        return
    data = f"mode={mode:o}" + (f",size={size_bytes}" if size_bytes else "")
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, data)


def bind_fd(fd: int, target: str) -> None:
    """Bind-mount what `fd` refers to onto `target`.

    Going through /proc/self/fd/N mounts exactly the inode that was opened and checked, so a
    symlink swapped in after the check cannot redirect the mount (the kubelet's subpath trick).
    """
    _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND, None)


def mounts_under(root: str) -> list[str]:
    """Mount points at or below `root` (per /proc/self/mountinfo)."""
    real = os.path.realpath(root)
    found: list[str] = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = (line.split()[4].replace("\\040", " ").replace("\\011", "\t")
                     .replace("\\012", "\n").replace("\\134", "\\"))
            if point == real or point.startswith(real + "/"):
                found.append(point)
    return sorted(set(found), key=len, reverse=True)


def unmount_tree(root: str) -> None:
    """Unmount every mount at or below `root`, deepest first (pod teardown, --cleanup)."""
    for point in mounts_under(root):
        unmount(point)


__all__ = ["bind_fd", "is_mounted", "mount_tmpfs", "mounts_under", "unmount", "unmount_tree"]
