"""A container's root filesystem: the image layers under a writable overlay.

The layers stay read-only and shared; each container gets its own ``upper`` (its writes)
and ``work`` (overlayfs scratch) directory. Whiteouts and opaque directories stored in the
layers (see ``unpack.py``) are applied by overlayfs itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os

MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
# The kernel takes at most one page of mount options.
MAX_OPTIONS = 4095


def mount_rootfs(layer_dirs: list[str], upper: str, work: str, target: str) -> None:
    """Mount ``layer_dirs`` (top-most first) with ``upper`` on top at ``target``.

    Even a single layer is mounted as an overlay, so the container can write without
    touching the shared layer. ``upper``, ``work`` and ``target`` are created if missing;
    ``upper`` and ``work`` must be on the same filesystem.
    """
    if not layer_dirs:
        raise ValueError("mount_rootfs: an image with no layers has no root filesystem")
    for path in (upper, work, target):
        os.makedirs(path, exist_ok=True)
    lower = ":".join(_escape(os.path.abspath(d)) for d in layer_dirs)
    options = f"lowerdir={lower},upperdir={_escape(upper)},workdir={_escape(work)}"
    if len(options) > MAX_OPTIONS:
        raise OSError(
            errno.E2BIG,
            f"mount_rootfs: {len(layer_dirs)} layers make overlay options longer than a page",
        )
    if _libc.mount(b"overlay", os.fsencode(target), b"overlay", 0, options.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount overlay on {target}: {os.strerror(err)} ({options})")


def unmount(target: str) -> None:
    """Unmount ``target``; lazily if it is busy. Not mounted is not an error."""
    if _libc.umount2(os.fsencode(target), 0) == 0:
        return
    err = ctypes.get_errno()
    if err == errno.EBUSY and _libc.umount2(os.fsencode(target), MNT_DETACH) == 0:
        return
    err = ctypes.get_errno() if err == errno.EBUSY else err
    if err in (errno.EINVAL, errno.ENOENT):  # not a mount point / gone already
        return
    raise OSError(err, f"unmount {target}: {os.strerror(err)}")


def is_mounted(target: str) -> bool:
    """True if ``target`` is a mount point (per /proc/self/mountinfo)."""
    real = os.path.realpath(target)
    with open("/proc/self/mountinfo") as f:
        return any(_unescape(line.split()[4]) == real for line in f)


def _escape(path: str) -> str:
    # overlayfs splits options on ',' and lowerdir on ':'; both can be escaped with '\'.
    return path.replace("\\", "\\\\").replace(",", "\\,").replace(":", "\\:")


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape") if "\\" in field else field
