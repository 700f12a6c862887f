"""OCI images built from Debian's own packages, with no image hub: mmdebstrap makes the root
filesystem, a second small layer adds the image's own files (an entrypoint script), and the
image config carries USER, WORKDIR, ENV, EXPOSE, ENTRYPOINT, CMD and STOPSIGNAL.

    spec = DebianImage(packages=("mariadb-server",), user="mysql", cmd=("mariadbd",))
    layout = build_debian_image(spec)            # cached by content: a second call is instant
    push_image(layout, registry.url, "library/mariadb", "11")

The cache key is everything that goes into the image (the spec, the suite, the mirror and
mmdebstrap's version), so changing a package list or a script builds anew, and an unchanged
one is reused across test runs (`$KUBELITE_IMAGE_CACHE`, default `~/.cache/kubelite/images`).
Packages come from the machine's apt sources (Debian's package registry is reachable where
image hubs are not). `tools/build-debian-image` is the command-line face of this module.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.helpers.registry import (
    FIXED_MTIME,
    OciLayout,
    dir_entry,
    file_entry,
    make_layer,
    read_oci_layout,
    write_oci_layout,
)

DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
CACHE_ENV = "KUBELITE_IMAGE_CACHE"
RECIPE = 2  # bump when _mmdebstrap's command changes what it builds
# Debian images leave these out too: nothing in a container reads them
_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*",
             "/usr/share/lintian/*")
# Kept by the exclusions above because Debian's maintainer scripts and licences need them
_INCLUDES = ("/usr/share/doc/*/copyright",)


@dataclass(frozen=True)
class ImageFile:
    """A file the image adds over the packages (an entrypoint script, a config snippet)."""

    path: str
    content: bytes
    mode: int = 0o644


@dataclass(frozen=True)
class DebianImage:
    """What goes into an image: packages and the OCI image config (as a Dockerfile says it)."""

    packages: tuple[str, ...]
    files: tuple[ImageFile, ...] = ()
    user: str = ""
    workdir: str = "/"
    env: tuple[str, ...] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    exposed_ports: tuple[str, ...] = ()  # "3306/tcp"
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    stop_signal: str = ""
    # shell commands run in the new root before it is packed (mmdebstrap --customize-hook),
    # e.g. making /run/mysqld owned by the server's user
    customize: tuple[str, ...] = ()
    # shell commands run outside the root ("$1" names it) once the essential packages are in,
    # before the others (--essential-hook): e.g. a system user with a fixed uid
    essential: tuple[str, ...] = ()
    suite: str = DEFAULT_SUITE
    mirror: str = DEFAULT_MIRROR
    labels: dict[str, str] = field(default_factory=dict)

    def cache_key(self) -> str:
        doc = asdict(self)
        doc["files"] = [(f.path, hashlib.sha256(f.content).hexdigest(), f.mode) for f in self.files]
        doc["mmdebstrap"] = _mmdebstrap_version()
        doc["recipe"] = RECIPE
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "kubelite" / "images")


def build_debian_image(spec: DebianImage, *, cache: Path | None = None,
                       progress: bool = True) -> OciLayout:
    """The image as an OCI layout in the cache, built first if it is not there yet."""
    root = (cache or cache_dir()) / spec.cache_key()
    with _lock(root.with_suffix(".lock")):
        if (root / "index.json").exists():
            return read_oci_layout(root)
        with tempfile.TemporaryDirectory(prefix="debian-image-", dir=root.parent) as tmp:
            rootfs_tar = Path(tmp) / "rootfs.tar"
            _mmdebstrap(spec, rootfs_tar, progress)
            layers = [rootfs_tar.read_bytes(), _files_layer(spec.files)]
            staging = Path(tmp) / "layout"
            write_oci_layout(staging, layers, entrypoint=list(spec.entrypoint) or None,
                             cmd=list(spec.cmd) or None, env=list(spec.env),
                             working_dir=spec.workdir, extra_config=_extra_config(spec))
            os.replace(staging, root)  # whole or not at all: a killed build leaves no half image
        return read_oci_layout(root)


def _extra_config(spec: DebianImage) -> dict[str, object]:
    extra: dict[str, object] = {}
    if spec.user:
        extra["User"] = spec.user
    if spec.exposed_ports:
        extra["ExposedPorts"] = {p if "/" in p else f"{p}/tcp": {} for p in spec.exposed_ports}
    if spec.stop_signal:
        extra["StopSignal"] = spec.stop_signal
    if spec.labels:
        extra["Labels"] = dict(spec.labels)
    return extra


def _files_layer(files: tuple[ImageFile, ...]) -> bytes:
    entries = []
    dirs: set[str] = set()
    for f in files:
        parent = os.path.dirname(f.path.strip("/"))
        while parent and parent not in dirs:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    entries += [dir_entry(d) for d in sorted(dirs)]
    entries += [file_entry(f.path.strip("/"), f.content, f.mode) for f in files]
    return make_layer(entries)


def _mmdebstrap(spec: DebianImage, out: Path, progress: bool) -> None:
    if shutil.which("mmdebstrap") is None:
        raise RuntimeError("mmdebstrap is not installed: `apt-get install mmdebstrap` (make install does)")
    cmd = ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar",
           # device nodes are the runtime's to make (runc mounts its own /dev)
           "--skip=output/dev", "--skip=output/mknod",
           # what a customize hook made in /run (a server's socket directory) stays
           "--skip=cleanup/run",
           "--aptopt=Acquire::Languages \"none\"",
           "--aptopt=APT::Install-Recommends \"false\"",
           "--include=" + ",".join(spec.packages)]
    cmd += [f"--dpkgopt=path-exclude={p}" for p in _EXCLUDES]
    cmd += [f"--dpkgopt=path-include={p}" for p in _INCLUDES]
    # Debian's maintainer scripts may start services: policy-rc.d 101 forbids it, as Docker's
    # debian images do; and no apt lists or caches stay in the image
    cmd += ["--essential-hook=printf '#!/bin/sh\\nexit 101\\n' > \"$1/usr/sbin/policy-rc.d\" && "
            "chmod 755 \"$1/usr/sbin/policy-rc.d\""]
    cmd += [f"--essential-hook={c}" for c in spec.essential]
    cmd += [f"--customize-hook=chroot \"$1\" sh -c {_shell_quote(c)}" for c in spec.customize]
    cmd += ["--customize-hook=rm -f \"$1/usr/sbin/policy-rc.d\"",
            "--customize-hook=rm -rf \"$1\"/var/lib/apt/lists/* \"$1\"/var/cache/apt/* \"$1\"/var/log/*.log"]
    cmd += [spec.suite, str(out), spec.mirror]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(FIXED_MTIME)}
    stderr = None if progress else subprocess.PIPE
    if progress:
        print(f"building a Debian image: {', '.join(spec.packages)} ({spec.suite})", file=sys.stderr)
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr, check=False)
    if done.returncode != 0:
        detail = (done.stderr or b"").decode(errors="replace")[-2000:] if not progress else ""
        raise RuntimeError(f"mmdebstrap failed ({done.returncode}): {detail}")


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


_version: str | None = None


def _mmdebstrap_version() -> str:
    global _version
    if _version is None:
        try:
            _version = subprocess.run(["mmdebstrap", "--version"], capture_output=True, text=True,
                                      check=False).stdout.strip()
        except OSError:
            _version = "absent"
    return _version


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One build per image at a time across processes (pytest workers, parallel CI steps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
