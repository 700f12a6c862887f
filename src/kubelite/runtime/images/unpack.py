"""Unpack one layer tar into its own directory, in the form overlayfs stacks.

Each layer is unpacked alone (not on top of its parents): a whiteout ``dir/.wh.name``
becomes a 0/0 character device ``dir/name`` and an opaque marker ``dir/.wh..wh..opq`` becomes
the ``trusted.overlay.opaque=y`` xattr on ``dir``. Overlayfs applies both when the layers are
mounted as lowerdirs.

A layer that tries to reach outside its root is refused as a whole: absolute names, ``..``,
writing through a symlink, and hardlinks to anything but an earlier entry of the same layer.
The whole stream is read, so the returned diffID (sha256 of the uncompressed tar) can be
checked against the image config.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import shutil
import stat
import tarfile
import zlib
from typing import IO, Any

from .errors import ImageCorrupt, LayerRefused

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_ALLOWED_XATTR_PREFIXES = ("user.", "security.capability")
_COPY_CHUNK = 1024 * 1024


class _HashingReader:
    """A read-only stream that hashes everything read through it."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self.hasher = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self.hasher.update(data)
        return data

    def drain(self) -> None:
        while self.read(_COPY_CHUNK):
            pass


def unpack_layer(blob_path: str, dest: str, *, name: str = "layer") -> tuple[str, int]:
    """Unpack the (gzip or plain) tar ``blob_path`` into the empty directory ``dest``.

    Returns ``(diff_id, bytes_of_file_content)``. Raises :class:`LayerRefused` for entries
    that would escape ``dest`` and :class:`ImageCorrupt` for broken archives.
    """
    with open(blob_path, "rb") as raw:
        magic = raw.read(4)
        raw.seek(0)
        if magic.startswith(_ZSTD_MAGIC):
            raise ImageCorrupt(f"{name}: zstd-compressed layers are not supported")
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if magic.startswith(_GZIP_MAGIC) else raw  # type: ignore[assignment]
        reader = _HashingReader(stream)
        unpacker = _Unpacker(dest, name)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    unpacker.add(tar, member)
            reader.drain()
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, zlib.error) as e:
            raise ImageCorrupt(f"{name}: not a valid layer archive: {e}") from e
        unpacker.finish()
    return "sha256:" + reader.hasher.hexdigest(), unpacker.content_bytes


class _Unpacker:
    def __init__(self, root: str, name: str) -> None:
        self.root = root
        self.name = name
        self.content_bytes = 0
        self._dirs: list[tuple[str, tarfile.TarInfo]] = []
        self._is_root = os.geteuid() == 0

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        parts = self._parts(member.name)
        if not parts:  # "./" itself: the layer root
            return
        parent = self._ensure_parent(parts, member.name)
        base = parts[-1]
        if base == OPAQUE_MARKER:
            os.setxattr(parent, OPAQUE_XATTR, b"y", follow_symlinks=False)
            return
        if base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
            return  # other aufs metadata (.wh..wh.plnk ...): nothing to unpack
        if base.startswith(WHITEOUT_PREFIX):
            hidden = base[len(WHITEOUT_PREFIX) :]
            if hidden in ("", ".", ".."):
                self._refuse(member.name, "is not a valid whiteout")
            path = os.path.join(parent, hidden)
            self._clear(path, keep_dir=False)
            os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
            return
        path = os.path.join(parent, base)
        if member.isdir():
            self._clear(path, keep_dir=True)
            if not os.path.isdir(path):
                os.mkdir(path, 0o755)
            self._dirs.append((path, member))
            return
        if member.ischr() or member.isblk():
            return  # device nodes are never created from an image
        self._clear(path, keep_dir=False)
        if member.isreg():
            self._write_file(tar, member, path)
        elif member.issym():
            os.symlink(member.linkname, path)
        elif member.islnk():
            os.link(self._hardlink_source(member), path, follow_symlinks=False)
            return  # a hardlink shares the inode (and attributes) of its source
        elif member.isfifo():
            os.mkfifo(path, 0o600)
        else:
            return
        self._set_attributes(path, member)

    def finish(self) -> None:
        # Directory mtimes last, deepest first: creating entries inside changes them.
        for path, member in reversed(self._dirs):
            self._set_attributes(path, member)

    # -- path safety ----------------------------------------------------------------------

    def _parts(self, name: str) -> list[str]:
        if name.startswith("/"):
            self._refuse(name, "is an absolute path")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            self._refuse(name, "contains '..'")
        return parts

    def _ensure_parent(self, parts: list[str], name: str) -> str:
        """The entry's parent directory, created if missing; never through a symlink."""
        current = self.root
        for part in parts[:-1]:
            current = os.path.join(current, part)
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                os.mkdir(current, 0o755)
                continue
            if stat.S_ISLNK(st.st_mode):
                self._refuse(name, f"goes through the symlink {part!r}")
            if not stat.S_ISDIR(st.st_mode):
                self._refuse(name, f"goes through {part!r}, which is not a directory")
        return current

    def _hardlink_source(self, member: tarfile.TarInfo) -> str:
        parts = self._parts(member.linkname)
        if not parts:
            self._refuse(member.name, "is a hardlink to the layer root")
        source = self._ensure_parent(parts, member.name)
        source = os.path.join(source, parts[-1])
        try:
            st = os.lstat(source)
        except FileNotFoundError:
            self._refuse(member.name, f"is a hardlink to {member.linkname!r}, not in this layer")
        if stat.S_ISDIR(st.st_mode):
            self._refuse(member.name, "is a hardlink to a directory")
        return source

    def _refuse(self, entry: str, why: str) -> Any:
        raise LayerRefused(
            f"{self.name}: entry {entry!r} {why}; refusing a layer that writes outside its root"
        )

    # -- writing --------------------------------------------------------------------------

    def _clear(self, path: str, *, keep_dir: bool) -> None:
        """Make room for a later entry with the same name (the last one in the tar wins)."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            if not keep_dir:
                shutil.rmtree(path)
        else:
            os.unlink(path)

    def _write_file(self, tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        source = tar.extractfile(member)
        assert source is not None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(path, flags, 0o600), "wb") as out:
            shutil.copyfileobj(source, out, _COPY_CHUNK)
        self.content_bytes += member.size

    def _set_attributes(self, path: str, member: tarfile.TarInfo) -> None:
        for key, value in member.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                self._set_xattr(path, key[len("SCHILY.xattr.") :], value)
        if self._is_root:
            os.lchown(path, member.uid, member.gid)
        if not member.issym():
            os.chmod(path, member.mode & 0o7777)  # after chown, which clears setuid
        mtime = member.mtime
        os.utime(path, (mtime, mtime), follow_symlinks=False)

    def _set_xattr(self, path: str, key: str, value: str) -> None:
        if not key.startswith(_ALLOWED_XATTR_PREFIXES):
            return  # trusted.overlay.* and friends would let a layer forge overlay metadata
        try:
            os.setxattr(path, key, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
        except OSError as e:
            if e.errno not in (errno.ENOTSUP, errno.EPERM):
                raise
