"""The `..data` swap: readers see the old or the new set of files, never a mix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubelite.kubelet.safepath import UnsafePathError
from kubelite.kubelet.volumes import atomic_writer
from kubelite.kubelet.volumes.atomic_writer import FileProjection


def test_layout_is_the_kubelets(tmp_path: Path) -> None:
    assert atomic_writer.write(str(tmp_path), {"a.conf": FileProjection(b"1", 0o644),
                                               "dir/b": FileProjection(b"2", 0o400)})
    data = tmp_path / "..data"
    assert data.is_symlink() and os.readlink(data).startswith("..")
    assert os.readlink(tmp_path / "a.conf") == "..data/a.conf"
    assert os.readlink(tmp_path / "dir") == "..data/dir"
    assert (tmp_path / "a.conf").read_bytes() == b"1"
    assert oct(os.stat(tmp_path / "dir" / "b").st_mode & 0o777) == "0o400"


def test_update_swaps_the_data_dir_and_removes_the_old_one(tmp_path: Path) -> None:
    atomic_writer.write(str(tmp_path), {"a": FileProjection(b"old"), "gone": FileProjection(b"x")})
    first = os.readlink(tmp_path / "..data")
    held = open(tmp_path / "a", "rb")  # a reader with the old file open keeps the old content
    assert atomic_writer.write(str(tmp_path), {"a": FileProjection(b"new")})
    second = os.readlink(tmp_path / "..data")
    assert first != second and not (tmp_path / first).exists()
    assert (tmp_path / "a").read_bytes() == b"new"
    assert held.read() == b"old"
    held.close()
    assert not os.path.lexists(tmp_path / "gone")


def test_unchanged_payload_writes_nothing(tmp_path: Path) -> None:
    payload = {"a": FileProjection(b"same")}
    atomic_writer.write(str(tmp_path), payload)
    before = os.readlink(tmp_path / "..data")
    assert not atomic_writer.write(str(tmp_path), payload)
    assert os.readlink(tmp_path / "..data") == before


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "..hidden", "a/../../b"])
def test_unsafe_item_paths_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UnsafePathError):
        atomic_writer.write(str(tmp_path), {bad: FileProjection(b"x")})


def test_fs_group_owns_the_files(tmp_path: Path) -> None:
    atomic_writer.write(str(tmp_path), {"a": FileProjection(b"x")}, fs_group=1234)
    assert os.stat(tmp_path / "a").st_gid == 1234
