"""`tar cf` and `tar xf` done by the kubelet inside a container's root, as tar in it would.

The root is a descriptor of the container's `/` as its processes see it (/proc/PID/root: its
volumes and read-only mounts included). Every name, from the archive or from the container's
own symlinks, is resolved with safepath's in-root walk and every file is made with `dir_fd=`
calls that never follow the last component, so nothing here can reach the host:

- a symlink the container planted in a directory on the way is followed inside its root;
- a symlink or file already at an entry's name is replaced, never written through (tar's
  unlink-first for non-directories), so a planted `x -> /etc/shadow` cannot redirect a write;
- member names lose their leading `/` and may not contain `..` (GNU tar: "Member name
  contains '..'"); hard-link members link names inside the archive's directory;
- symlink members whose target is absolute or climbs with `..` are made after every other
  entry (busybox and GNU tar do the same), so an archive cannot plant `d -> /` and then
  write `d/etc/passwd` through it.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator

from kubelite.kubelet.safepath import UnsafePathError, open_in_root, open_parent_in_root

TAR_PATHS = ("/bin/tar", "/usr/bin/tar", "/sbin/tar", "/usr/sbin/tar", "/usr/local/bin/tar")
NEW_DIR_MODE = 0o755
_CHUNK = 1 << 20


def has_tar(root_fd: int) -> bool:
    """Whether the container has a `tar` program of its own (links followed inside it)."""
    for path in TAR_PATHS:
        try:
            fd = open_in_root(root_fd, path)
        except (OSError, UnsafePathError):  # absent, dangling, looping, through a file
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                return True
        finally:
            os.close(fd)
    return False


# -- tar cf - PATH... ------------------------------------------------------------------------


def create_archive(root_fd: int, paths: list[str]) -> bytes:
    """`tar cf - PATH...` inside the root: names without their leading `/`, symlinks kept."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        seen: dict[tuple[int, int], str] = {}
        for path in paths:
            parent, name = open_parent_in_root(root_fd, path)
            try:
                os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                os.close(parent)
                raise FileNotFoundError(
                    f"tar: {path}: Cannot stat: No such file or directory") from None
            try:
                _add(tar, parent, name, path.lstrip("/") or ".", seen)
            finally:
                os.close(parent)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, dir_fd: int, name: str, arcname: str,
         seen: dict[tuple[int, int], str]) -> None:
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    info = tarfile.TarInfo(arcname)
    info.mode, info.uid, info.gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
    info.mtime = int(st.st_mtime)
    if stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=dir_fd)
        tar.addfile(info)
    elif stat.S_ISREG(st.st_mode):
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in seen:
            info.type, info.linkname = tarfile.LNKTYPE, seen[key]
            tar.addfile(info)
            return
        seen[key] = arcname
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        with os.fdopen(os.open(name, flags, dir_fd=dir_fd), "rb") as f:
            now = os.fstat(f.fileno())
            if not stat.S_ISREG(now.st_mode):
                return  # swapped for something else meanwhile: skipped, as tar would complain
            info.size = now.st_size
            tar.addfile(info, f)
    elif stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, dir_fd=dir_fd)
        try:
            for child in sorted(os.listdir(fd)):
                _add(tar, fd, child, f"{arcname.rstrip('/')}/{child}", seen)
        finally:
            os.close(fd)
    elif stat.S_ISFIFO(st.st_mode):
        info.type = tarfile.FIFOTYPE
        tar.addfile(info)
    # sockets and device nodes: left out ("socket ignored")


# -- tar xf - -C DIR -------------------------------------------------------------------------


def member_path(name: str) -> str | None:
    """The archive name as tar would extract it: no leading `/`; None when it climbs (`..`)."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return "/".join(parts)


def unsafe_link(target: str) -> bool:
    """A symlink target that could lead out of the extraction directory."""
    return target.startswith("/") or ".." in target.split("/")


def extract_archive(root_fd: int, directory: str, data: bytes) -> list[str]:
    """`tar -xf - -C DIR` inside the root; the error messages, tar's way (it goes on after one)."""
    os.close(open_in_root(root_fd, directory, mkdir_mode=NEW_DIR_MODE))
    errors: list[str] = []
    delayed: list[tuple[str, str]] = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in _members(tar, directory, errors):
            rel = member_path(member.name) or ""
            path = f"{directory.rstrip('/')}/{rel}"
            try:
                if member.issym() and unsafe_link(member.linkname):
                    delayed.append((path, member.linkname))
                else:
                    _extract(tar, member, root_fd, directory, path)
            except (OSError, ValueError, UnsafePathError, tarfile.TarError) as e:
                errors.append(f"tar: {member.name}: Cannot create: {_why(e)}")
    for path, target in delayed:
        try:
            parent, name = open_parent_in_root(root_fd, path)
            try:
                if not _is_dir(parent, name):
                    _make_room(parent, name)
                os.symlink(target, name, dir_fd=parent)
            finally:
                os.close(parent)
        except (OSError, UnsafePathError) as e:
            errors.append(f"tar: can't create symlink '{path}' to '{target}': {_why(e)}")
    return errors


def _members(tar: tarfile.TarFile, directory: str,
             errors: list[str]) -> Iterator[tarfile.TarInfo]:
    for member in tar:
        rel = member_path(member.name)
        if rel is None:
            errors.append(f"tar: refusing to write outside {directory}: {member.name} "
                          "(member name contains '..')")
        elif rel:
            yield member


def _why(e: BaseException) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e)


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, root_fd: int, directory: str,
             path: str) -> None:
    parent, name = open_parent_in_root(root_fd, path, mkdir_mode=NEW_DIR_MODE)
    try:
        if member.isdir():
            _make_dir(root_fd, parent, name, path, stat.S_IMODE(member.mode) | 0o700)
            return
        _make_room(parent, name)
        if member.isreg():
            src = tar.extractfile(member)
            assert src is not None
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with os.fdopen(os.open(name, flags, 0o600, dir_fd=parent), "wb") as out:
                while chunk := src.read(_CHUNK):
                    out.write(chunk)
                os.fchmod(out.fileno(), stat.S_IMODE(member.mode) & 0o777)
        elif member.issym():
            os.symlink(member.linkname, name, dir_fd=parent)
        elif member.islnk():
            target = member_path(member.linkname)
            if not target:
                raise ValueError(f"hard link to {member.linkname!r} outside {directory}")
            src_dir, src_name = open_parent_in_root(root_fd, f"{directory.rstrip('/')}/{target}")
            try:
                os.link(src_name, name, src_dir_fd=src_dir, dst_dir_fd=parent,
                        follow_symlinks=False)
            finally:
                os.close(src_dir)
        elif member.isfifo():
            os.mkfifo(name, stat.S_IMODE(member.mode) & 0o777, dir_fd=parent)
        else:
            raise ValueError("device nodes are not created")
    finally:
        os.close(parent)


def _make_dir(root_fd: int, parent: int, name: str, path: str, mode: int) -> None:
    """mkdir, keeping a directory (or a symlink to one, inside the root) that is there."""
    try:
        os.mkdir(name, mode, dir_fd=parent)
        return
    except FileExistsError:
        pass
    try:
        fd = open_in_root(root_fd, path)  # follows a symlink inside the root, as tar does
    except (OSError, UnsafePathError):
        fd = -1
    if fd >= 0:
        try:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                return
        finally:
            os.close(fd)
    _make_room(parent, name)
    os.mkdir(name, mode, dir_fd=parent)


def _is_dir(parent: int, name: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _make_room(parent: int, name: str) -> None:
    """Remove what stands at `name` (a file or symlink; an empty directory), not following it."""
    try:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        os.rmdir(name, dir_fd=parent)
    else:
        os.unlink(name, dir_fd=parent)
