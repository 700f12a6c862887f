"""Volumes backed by host directories: emptyDir, hostPath (with its type checks), and the
directories behind PersistentVolumes (hostPath and local ones)."""

from __future__ import annotations

import os
import stat

from kubelite.api.quantity import parse_quantity
from kubelite.kubelet.safepath import chmod_fd
from kubelite.kubelet.volumes.projections import VolumeSetupError
from kubelite.kubelet.volumes.syscalls import mount_tmpfs

EMPTY_DIR_MODE = 0o777

# hostPath type -> (predicate on st_mode, what the kubelet says it is not)
_TYPE_CHECKS = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket file"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


def setup_empty_dir(path: str, medium: str, size_limit: str | None) -> None:
    """An emptyDir: a directory under the pod's dir, or a tmpfs capped at sizeLimit."""
    if medium == "Memory":
        size = parse_quantity(size_limit).value() if size_limit else None
        mount_tmpfs(path, size, 0o777)
        return
    if medium not in ("", None):
        raise VolumeSetupError(f"unsupported emptyDir medium {medium!r}")
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, EMPTY_DIR_MODE)


def check_host_path(path: str, type_: str) -> None:
    """hostPath's `type`, checked (and the *OrCreate kinds made) before any container starts."""
    if not os.path.isabs(path):
        raise VolumeSetupError(f"hostPath {path!r} must be an absolute path")
    if type_ == "DirectoryOrCreate":
        if not os.path.exists(path):
            os.makedirs(path, mode=0o755, exist_ok=True)
        type_ = "Directory"
    elif type_ == "FileOrCreate":
        if not os.path.exists(path):
            try:
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
            except OSError as e:
                raise VolumeSetupError(
                    f"hostPath type check failed: {path} cannot be created: {e.strerror}") from e
        type_ = "File"
    check = _TYPE_CHECKS.get(type_)
    if check is None:
        if type_:
            raise VolumeSetupError(f"hostPath type check failed: unknown type {type_!r}")
        return
    predicate, what = check
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    if not predicate(mode):
        raise VolumeSetupError(f"hostPath type check failed: {path} is not {what}")


def apply_fs_group(path: str, gid: int, change_policy: str = "Always") -> None:
    """fsGroup ownership (the kubelet's SetVolumeOwnership): group gid, group rw, setgid dirs.

    With fsGroupChangePolicy OnRootMismatch the walk is skipped when the volume's root already
    has the group, group rwx and setgid (skipPermissionChange): a big database volume is not
    walked at every pod start.

    The volume may hold what a container wrote, symlinks included, and a container may swap a
    file for a symlink while this runs: every change goes through a descriptor opened without
    following the name (fwalk, fchownat and chmod of an O_PATH descriptor), so a symlink is
    never followed to a host file.
    """
    if change_policy == "OnRootMismatch" and not _root_needs_change(path, gid):
        return
    for _dirpath, dirs, files, dir_fd in os.fwalk(path, follow_symlinks=False):
        _own(dir_fd, ".", gid)
        for name in [*dirs, *files]:
            _own(dir_fd, name, gid)


def _root_needs_change(path: str, gid: int) -> bool:
    """requiresPermissionChange: the root's group, rwx for the group and setgid."""
    try:
        st = os.lstat(path)
    except OSError:
        return True
    wanted = 0o660 | 0o110
    return (st.st_gid != gid or not stat.S_ISDIR(st.st_mode)
            or stat.S_IMODE(st.st_mode) & wanted != wanted or not st.st_mode & stat.S_ISGID)


def _own(dir_fd: int, name: str, gid: int) -> None:
    try:
        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if stat.S_ISLNK(st.st_mode):
            return
        os.chown(name, -1, gid, dir_fd=dir_fd, follow_symlinks=False)
        mode = stat.S_IMODE(st.st_mode) | stat.S_IRGRP | stat.S_IWGRP
        if stat.S_ISDIR(st.st_mode):
            mode |= stat.S_IXGRP | stat.S_ISGID
        chmod_fd(fd, mode)
    except OSError:
        return
    finally:
        os.close(fd)


def disk_usage(path: str) -> int:
    """Bytes used under `path` (allocated blocks, as du counts them)."""
    total = 0
    for dirpath, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                continue
    return total
