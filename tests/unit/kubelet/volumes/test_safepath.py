"""Path safety: subPaths and symlinks may not leave their volume."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kubelite.kubelet.volumes.safepath import (
    UnsafePathError,
    check_relative,
    open_within,
    resolve_within,
    safe_path,
)


def test_plain_and_missing_components_resolve_as_written(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    assert resolve_within(str(tmp_path), "a/b/./c") == ["a", "b", "c"]


def test_symlink_to_root_is_refused(tmp_path: Path) -> None:
    os.symlink("/", tmp_path / "escape")
    with pytest.raises(UnsafePathError, match="outside the volume"):
        resolve_within(str(tmp_path), "escape")
    with pytest.raises(UnsafePathError):
        resolve_within(str(tmp_path), "escape/etc")


def test_relative_symlink_climbing_out_is_refused(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    (vol / "d").mkdir(parents=True)
    os.symlink("../../", vol / "d" / "up")
    with pytest.raises(UnsafePathError):
        resolve_within(str(vol), "d/up")


def test_dotdot_in_subpath_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        check_relative("../x", "subPath")
    with pytest.raises(UnsafePathError):
        check_relative("/etc", "subPath")
    with pytest.raises(UnsafePathError):
        resolve_within(str(tmp_path), "..")


def test_symlinks_inside_the_volume_are_followed(tmp_path: Path) -> None:
    (tmp_path / "real" / "x").mkdir(parents=True)
    os.symlink("real", tmp_path / "rel")
    os.symlink(str(tmp_path / "real"), tmp_path / "abs")
    assert resolve_within(str(tmp_path), "rel/x") == ["real", "x"]
    assert resolve_within(str(tmp_path), "abs/x") == ["real", "x"]
    assert safe_path(str(tmp_path), "rel") == str(tmp_path.resolve() / "real")


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(UnsafePathError, match="too many levels"):
        resolve_within(str(tmp_path), "a")


def test_open_within_refuses_a_symlink_swapped_in_after_the_check(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    parts = resolve_within(str(tmp_path), "d")
    (tmp_path / "d").rmdir()
    os.symlink("/", tmp_path / "d")  # the race: replaced between resolve and open
    with pytest.raises(UnsafePathError):
        os.close(open_within(str(tmp_path), parts))


def test_open_within_creates_missing_directories(tmp_path: Path) -> None:
    fd = open_within(str(tmp_path), ["x", "y"], create_dirs_mode=0o750)
    os.close(fd)
    assert (tmp_path / "x" / "y").is_dir()
