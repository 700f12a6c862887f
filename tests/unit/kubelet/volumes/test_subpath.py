"""subPath bind mounts of verified descriptors, and mirrors of configMap keys kept in sync."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubelite.kubelet.safepath import UnsafePathError
from kubelite.kubelet.volumes import atomic_writer
from kubelite.kubelet.volumes.atomic_writer import FileProjection
from kubelite.kubelet.volumes.subpath import bind_subpath, sync_mirror
from kubelite.kubelet.volumes.syscalls import is_mounted, unmount


def test_bind_subpath_mounts_the_directory_and_creates_it(tmp_path: Path) -> None:
    vol, target = tmp_path / "vol", tmp_path / "mnt" / "0"
    vol.mkdir()
    bind_subpath(str(vol), "data/deep", str(target))
    try:
        assert is_mounted(str(target))
        (target / "f").write_text("hello")
        assert (vol / "data" / "deep" / "f").read_text() == "hello"
    finally:
        unmount(str(target))


def test_bind_subpath_of_a_file(tmp_path: Path) -> None:
    vol, target = tmp_path / "vol", tmp_path / "mnt" / "0"
    vol.mkdir()
    (vol / "f").write_text("x")
    bind_subpath(str(vol), "f", str(target))
    try:
        assert target.read_text() == "x"
    finally:
        unmount(str(target))


@pytest.mark.parametrize("link", ["/", "../../", "/etc"])
def test_bind_subpath_refuses_symlink_escapes(tmp_path: Path, link: str) -> None:
    vol = tmp_path / "a" / "vol"
    vol.mkdir(parents=True)
    os.symlink(link, vol / "escape")
    with pytest.raises(UnsafePathError):
        bind_subpath(str(vol), "escape", str(tmp_path / "t"))
    assert not is_mounted(str(tmp_path / "t"))


def test_mirror_of_a_configmap_key_is_rewritten_in_place(tmp_path: Path) -> None:
    vol, mirror = tmp_path / "vol", tmp_path / "mirror"
    atomic_writer.write(str(vol), {"app.conf": FileProjection(b"v1", 0o644)})
    sync_mirror(str(vol), "app.conf", str(mirror))
    inode = os.stat(mirror).st_ino
    atomic_writer.write(str(vol), {"app.conf": FileProjection(b"version2", 0o644)})
    sync_mirror(str(vol), "app.conf", str(mirror))
    assert mirror.read_bytes() == b"version2"
    assert os.stat(mirror).st_ino == inode  # a bind mount of it sees the change


def test_mirror_of_a_directory_tracks_added_and_removed_files(tmp_path: Path) -> None:
    vol, mirror = tmp_path / "vol", tmp_path / "mirror"
    atomic_writer.write(str(vol), {"d/a": FileProjection(b"1"), "d/b": FileProjection(b"2")})
    sync_mirror(str(vol), "d", str(mirror))
    assert sorted(os.listdir(mirror)) == ["a", "b"]
    atomic_writer.write(str(vol), {"d/a": FileProjection(b"3"), "d/c": FileProjection(b"4")})
    sync_mirror(str(vol), "d", str(mirror))
    assert sorted(os.listdir(mirror)) == ["a", "c"] and (mirror / "a").read_bytes() == b"3"
