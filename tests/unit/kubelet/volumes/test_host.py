"""emptyDir, hostPath type checks, fsGroup ownership, disk usage."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelite.kubelet.volumes.host import (
    apply_fs_group,
    check_host_path,
    disk_usage,
    setup_empty_dir,
)
from kubelite.kubelet.volumes.projections import VolumeSetupError
from kubelite.kubelet.volumes.syscalls import is_mounted, unmount


def test_empty_dir_on_disk_is_world_writable(tmp_path: Path) -> None:
    setup_empty_dir(str(tmp_path / "e"), "", None)
    assert stat.S_IMODE(os.stat(tmp_path / "e").st_mode) == 0o777


def test_memory_empty_dir_is_a_sized_tmpfs(tmp_path: Path) -> None:
    target = str(tmp_path / "m")
    setup_empty_dir(target, "Memory", "1Mi")
    try:
        assert is_mounted(target)
        with open("/proc/self/mountinfo") as f:
            line = next(ln for ln in f if ln.split()[4] == os.path.realpath(target))
        assert " tmpfs " in line and "size=1024k" in line
        setup_empty_dir(target, "Memory", "1Mi")  # idempotent: no second mount
        with open("/proc/self/mountinfo") as f:
            assert sum(1 for ln in f if ln.split()[4] == os.path.realpath(target)) == 1
    finally:
        unmount(target)


@pytest.mark.parametrize(("kind", "message"), [
    ("Directory", "is not a directory"), ("File", "is not a file"),
    ("Socket", "is not a socket file"), ("CharDevice", "is not a character device"),
    ("BlockDevice", "is not a block device")])
def test_host_path_type_mismatch(tmp_path: Path, kind: str, message: str) -> None:
    target = tmp_path / "missing"
    with pytest.raises(VolumeSetupError, match=f"hostPath type check failed: .* {message}"):
        check_host_path(str(target), kind)


def test_host_path_types_that_match(tmp_path: Path) -> None:
    check_host_path(str(tmp_path), "Directory")
    check_host_path("/dev/null", "CharDevice")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s"))
    check_host_path(str(tmp_path / "s"), "Socket")
    sock.close()
    check_host_path(str(tmp_path / "anything"), "")  # no type: no check


def test_host_path_or_create(tmp_path: Path) -> None:
    check_host_path(str(tmp_path / "a" / "b"), "DirectoryOrCreate")
    assert (tmp_path / "a" / "b").is_dir()
    check_host_path(str(tmp_path / "f"), "FileOrCreate")
    assert (tmp_path / "f").is_file()
    with pytest.raises(VolumeSetupError):
        check_host_path(str(tmp_path / "f"), "DirectoryOrCreate")


def test_fs_group_sets_group_and_setgid(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    apply_fs_group(str(tmp_path / "d"), 2000)
    st = os.stat(tmp_path / "d")
    assert st.st_gid == 2000 and st.st_mode & stat.S_ISGID
    assert os.stat(tmp_path / "d" / "f").st_gid == 2000
    assert os.stat(tmp_path / "d" / "f").st_mode & stat.S_IWGRP


def test_fs_group_on_root_mismatch_skips_a_volume_whose_root_is_already_right(tmp_path: Path) -> None:
    vol = tmp_path / "d"
    vol.mkdir()
    (vol / "f").write_text("x")
    apply_fs_group(str(vol), 2000, "OnRootMismatch")  # root's group differs: the whole walk
    assert os.stat(vol / "f").st_gid == 2000
    os.chown(vol / "f", -1, 0)  # a file changed since; the root still matches
    apply_fs_group(str(vol), 2000, "OnRootMismatch")
    assert os.stat(vol / "f").st_gid == 0
    apply_fs_group(str(vol), 2000)  # Always walks every time
    assert os.stat(vol / "f").st_gid == 2000
    vol.chmod(0o755)  # group write gone (and setgid): the root mismatches again
    os.chown(vol / "f", -1, 0)
    apply_fs_group(str(vol), 2000, "OnRootMismatch")
    assert os.stat(vol / "f").st_gid == 2000


def test_fs_group_never_follows_a_symlink_to_the_host(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    host_file, host_dir = tmp_path / "host-file", tmp_path / "host-dir"
    host_file.write_text("host")
    host_file.chmod(0o600)
    host_dir.mkdir(mode=0o700)
    vol = tmp_path / "vol"
    vol.mkdir()
    os.symlink(host_dir, vol / "to-dir")  # planted by a container
    (vol / "f").write_text("x")
    real_fwalk = os.fwalk

    def racing(*args: Any, **kw: Any) -> Iterator[Any]:
        for item in real_fwalk(*args, **kw):
            (vol / "f").unlink()  # the container swaps a listed file for a link to the host
            os.symlink(host_file, vol / "f")
            yield item

    monkeypatch.setattr(os, "fwalk", racing)
    apply_fs_group(str(vol), 2000)
    for path in (host_file, host_dir):
        st = os.stat(path)
        assert st.st_gid != 2000 and stat.S_IMODE(st.st_mode) in (0o600, 0o700)
    assert os.stat(vol).st_gid == 2000


def test_disk_usage_counts_blocks(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(os.urandom(200_000))
    assert disk_usage(str(tmp_path)) >= 200_000
