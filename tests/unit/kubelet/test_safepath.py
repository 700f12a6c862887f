"""Path safety: subPaths and symlinks may not leave their volume; container paths resolve
inside the container's root whatever their symlinks, `..` and absolute names say."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelite.kubelet.safepath import (
    UnsafePathError,
    check_relative,
    open_dir,
    open_in_root,
    open_parent_in_root,
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
    assert resolve_within(str(tmp_path), "d") == ["d"]
    (tmp_path / "d").rmdir()
    os.symlink("/", tmp_path / "d")  # the race: replaced between a check and the open
    with pytest.raises(UnsafePathError):
        os.close(open_within(str(tmp_path), "d"))


def test_open_within_creates_missing_directories(tmp_path: Path) -> None:
    fd = open_within(str(tmp_path), "x/y", create_dirs_mode=0o750)
    os.close(fd)
    assert (tmp_path / "x" / "y").is_dir()


# -- a container's root: everything resolves inside it ------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A container root beside a host directory it must never reach."""
    (tmp_path / "host").mkdir()
    (tmp_path / "root" / "etc").mkdir(parents=True)
    (tmp_path / "root" / "etc" / "passwd").write_text("container\n")
    fd = open_dir(str(tmp_path / "root"))
    yield tmp_path / "root", fd
    os.close(fd)


def where(fd: int) -> str:
    """The host path an O_PATH descriptor refers to (for asserting only)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def test_symlink_to_slash_is_the_containers_root(root: tuple[Path, int]) -> None:
    rootfs, fd = root
    os.symlink("/", rootfs / "up")
    assert where(open_in_root(fd, "/up/up/etc/passwd")) == str(rootfs / "etc" / "passwd")


def test_dotdot_chains_stop_at_the_root(root: tuple[Path, int]) -> None:
    rootfs, fd = root
    (rootfs / "a" / "b").mkdir(parents=True)
    assert where(open_in_root(fd, "../../../etc")) == str(rootfs / "etc")
    assert where(open_in_root(fd, "/a/b/../../../../etc/passwd")) == \
        str(rootfs / "etc" / "passwd")
    os.symlink("../../../../../../..", rootfs / "a" / "b" / "climb")
    assert where(open_in_root(fd, "a/b/climb/etc")) == str(rootfs / "etc")


def test_absolute_symlink_to_a_host_directory_lands_in_the_root(root: tuple[Path, int]) -> None:
    rootfs, fd = root
    host = rootfs.parent / "host"
    os.symlink(str(host), rootfs / "x")  # planted by the container: means ITS path
    with pytest.raises(FileNotFoundError):
        os.close(open_in_root(fd, "/x"))  # dangling inside the container, host ignored
    with pytest.raises(FileNotFoundError):  # mkdir -p never makes a dangling link's target
        os.close(open_in_root(fd, "/x", mkdir_mode=0o755))
    assert not (rootfs / str(host).lstrip("/")).exists()
    (rootfs / str(host).lstrip("/")).mkdir(parents=True)
    parent, name = open_parent_in_root(fd, "/x/f")
    assert (where(parent), name) == (str(rootfs / str(host).lstrip("/")), "f")
    assert list(host.iterdir()) == []


def test_the_last_component_is_not_followed_unless_asked(root: tuple[Path, int]) -> None:
    rootfs, fd = root
    os.symlink("/etc/passwd", rootfs / "p")
    link = open_in_root(fd, "p", follow_last=False)
    assert os.readlink("", dir_fd=link) == "/etc/passwd"
    os.close(link)
    assert where(open_in_root(fd, "p")) == str(rootfs / "etc" / "passwd")
    parent, name = open_parent_in_root(fd, "/p")
    assert (where(parent), name) == (str(rootfs), "p")


def test_hard_links_are_just_names_inside_the_root(root: tuple[Path, int]) -> None:
    rootfs, fd = root
    os.link(rootfs / "etc" / "passwd", rootfs / "hard")
    assert os.path.samefile(where(open_in_root(fd, "/hard")), rootfs / "etc" / "passwd")


def test_symlink_loops_end_in_an_error(root: tuple[Path, int]) -> None:
    rootfs, fd = root
    os.symlink("b", rootfs / "a")
    os.symlink("/a", rootfs / "b")
    with pytest.raises(UnsafePathError, match="too many levels"):
        open_in_root(fd, "a")
    os.symlink("self/x", rootfs / "self")
    with pytest.raises(UnsafePathError, match="too many levels"):
        open_in_root(fd, "self")


def test_a_file_in_the_middle_is_not_a_directory(root: tuple[Path, int]) -> None:
    _rootfs, fd = root
    with pytest.raises(NotADirectoryError):
        open_in_root(fd, "/etc/passwd/x")
    with pytest.raises(NotADirectoryError):
        open_parent_in_root(fd, "/etc/passwd/x")


def test_missing_directories_are_made_inside(root: tuple[Path, int]) -> None:
    rootfs, fd = root
    os.symlink("/deep", rootfs / "d")
    (rootfs / "deep").mkdir()
    parent, name = open_parent_in_root(fd, "/d/x/y/z", mkdir_mode=0o750)
    assert (where(parent), name) == (str(rootfs / "deep" / "x" / "y"), "z")
    top, name = open_parent_in_root(fd, "/")
    assert (where(top), name) == (str(rootfs), ".")


def test_a_symlink_swapped_in_mid_walk_still_resolves_inside(root: tuple[Path, int]) -> None:
    rootfs, fd = root
    (rootfs / "d").mkdir()
    held = open_in_root(fd, "/d")  # a walk holds this directory ...
    (rootfs / "d").rename(rootfs / "moved")
    os.symlink(str(rootfs.parent / "host"), rootfs / "d")  # ... and the name is swapped
    assert where(open_in_root(held, "..")) == str(rootfs / "moved")  # held is its own root
    with pytest.raises(FileNotFoundError):
        os.close(open_in_root(fd, "/d/"))
