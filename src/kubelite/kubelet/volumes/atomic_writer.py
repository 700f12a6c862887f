"""Write a volume's files so that readers never see a half-updated set (the kubelet's AtomicWriter).

Layout of a configMap, secret, downwardAPI or projected volume directory:

    ..2025_01_02_03_04_05.123456789/   the current files (real files and directories)
    ..data -> ..2025_01_02_03_04_05.123456789
    key    -> ..data/key               one symlink per top-level name

An update writes a new timestamped directory, points a temporary `..data_tmp` symlink at it and
renames it over `..data` (rename(2) is atomic), then fixes the top-level symlinks and removes the
old directory. A reader that opened `key` sees either the old or the new file, never a mix.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass

from kubelite.kubelet.safepath import UnsafePathError, check_relative

DATA_DIR_NAME = "..data"
DATA_TMP_NAME = "..data_tmp"


@dataclass(frozen=True)
class FileProjection:
    """One file of a volume: its bytes and mode (and owner, when fsGroup asks)."""

    data: bytes
    mode: int = 0o644


Payload = dict[str, FileProjection]


def validate_payload(payload: Payload) -> None:
    for path in payload:
        check_relative(path, "item path")
        if path.startswith(".."):
            raise UnsafePathError(f"item path {path!r} must not start with '..'")
        if not path.strip("/"):
            raise UnsafePathError("item path must not be empty")


def _timestamped_name() -> str:
    t = time.time()
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime(t))
    return f"..{stamp}.{int((t % 1) * 1e9):09d}"


def read_current(target: str) -> Payload | None:
    """The files behind `..data` now, or None when nothing was written yet."""
    data = os.path.join(target, DATA_DIR_NAME)
    if not os.path.islink(data):
        return None
    root = os.path.join(target, os.readlink(data))
    out: Payload = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, root)] = FileProjection(f.read(),
                                                                 os.stat(full).st_mode & 0o7777)
    return out


def write(target: str, payload: Payload, fs_group: int | None = None) -> bool:
    """Make `target` show exactly `payload`; False when it already did (nothing written)."""
    validate_payload(payload)
    os.makedirs(target, exist_ok=True)
    if read_current(target) == payload:
        return False
    data_link = os.path.join(target, DATA_DIR_NAME)
    old = os.readlink(data_link) if os.path.islink(data_link) else None
    new_dir = tempfile.mkdtemp(prefix=_timestamped_name(), dir=target)
    os.chmod(new_dir, 0o755)
    for rel, proj in payload.items():
        full = os.path.join(new_dir, rel)
        os.makedirs(os.path.dirname(full), mode=0o755, exist_ok=True)
        with open(full, "wb") as f:
            f.write(proj.data)
        os.chmod(full, proj.mode)
        if fs_group is not None:
            os.chown(full, -1, fs_group)
    if fs_group is not None:
        for dirpath, dirs, _files in os.walk(new_dir):
            for d in [dirpath, *(os.path.join(dirpath, x) for x in dirs)]:
                os.chown(d, -1, fs_group)
    tmp_link = os.path.join(target, DATA_TMP_NAME)
    if os.path.lexists(tmp_link):
        os.unlink(tmp_link)
    os.symlink(os.path.basename(new_dir), tmp_link)
    os.rename(tmp_link, data_link)
    _fix_user_links(target, {rel.split("/", 1)[0] for rel in payload})
    if old and old != os.path.basename(new_dir):
        shutil.rmtree(os.path.join(target, old), ignore_errors=True)
    return True


def _fix_user_links(target: str, wanted: set[str]) -> None:
    for name in os.listdir(target):
        if name.startswith(".."):
            continue
        if name not in wanted:
            path = os.path.join(target, name)
            if os.path.islink(path):
                os.unlink(path)
            else:
                shutil.rmtree(path, ignore_errors=True)
    for name in wanted:
        path = os.path.join(target, name)
        if not os.path.lexists(path):
            os.symlink(os.path.join(DATA_DIR_NAME, name), path)
