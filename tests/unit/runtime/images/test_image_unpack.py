"""Layer unpacking: attributes, overlay-style whiteouts, and refusing escapes."""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from pathlib import Path

import pytest

from kubelite.runtime.images import ImageCorrupt, LayerRefused
from kubelite.runtime.images.unpack import OPAQUE_XATTR, unpack_layer
from tests.helpers.registry import (
    FIXED_MTIME,
    Entry,
    dir_entry,
    file_entry,
    hardlink_entry,
    make_layer,
    opaque_entry,
    symlink_entry,
    whiteout_entry,
)


def _unpack(tmp_path: Path, entries: list[Entry], *, compress: bool = True) -> tuple[Path, str]:
    blob = tmp_path / "layer.blob"
    blob.write_bytes(make_layer(entries, compress=compress))
    root = tmp_path / "root"
    root.mkdir()
    diff_id, _ = unpack_layer(str(blob), str(root))
    return root, diff_id


def test_files_dirs_links_with_modes_and_mtimes(tmp_path: Path) -> None:
    entries = [
        dir_entry("app", 0o750),
        file_entry("app/run.sh", b"#!/bin/sh\necho hi\n", 0o4755),
        symlink_entry("app/current", "run.sh"),
        symlink_entry("app/abs", "/etc/passwd"),  # a symlink may point anywhere; it is not followed
        hardlink_entry("app/again.sh", "app/run.sh"),
        file_entry("deep/er/file.txt", b"x"),  # parents created implicitly
    ]
    root, _ = _unpack(tmp_path, entries)
    run = root / "app/run.sh"
    assert run.read_bytes() == b"#!/bin/sh\necho hi\n"
    assert stat.S_IMODE(run.stat().st_mode) == 0o4755
    assert run.stat().st_mtime == FIXED_MTIME
    assert stat.S_IMODE((root / "app").stat().st_mode) == 0o750
    assert (root / "app").stat().st_mtime == FIXED_MTIME  # set after its entries were written
    assert os.readlink(root / "app/current") == "run.sh"
    assert os.readlink(root / "app/abs") == "/etc/passwd"
    assert (root / "app/again.sh").stat().st_ino == run.stat().st_ino
    assert (root / "deep/er/file.txt").read_bytes() == b"x"


@pytest.mark.parametrize("compress", [True, False])
def test_diff_id_is_the_sha256_of_the_uncompressed_tar(tmp_path: Path, compress: bool) -> None:
    entries = [file_entry("a", b"hello")]
    _, diff_id = _unpack(tmp_path, entries, compress=compress)
    tar = make_layer(entries, compress=False)
    assert diff_id == "sha256:" + hashlib.sha256(tar).hexdigest()


def test_whiteouts_become_overlay_whiteouts(tmp_path: Path) -> None:
    root, _ = _unpack(tmp_path, [dir_entry("etc"), whiteout_entry("etc/gone"), opaque_entry("var")])
    st = os.lstat(root / "etc/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert os.getxattr(root / "var", OPAQUE_XATTR) == b"y"
    assert not (root / "etc/.wh.gone").exists()
    assert not (root / "var/.wh..wh..opq").exists()


def test_devices_are_skipped_and_forged_overlay_xattrs_ignored(tmp_path: Path) -> None:
    dev = tarfile.TarInfo("dev/sda")
    dev.type = tarfile.BLKTYPE
    dev.devmajor, dev.devminor = 8, 0
    forged, data = file_entry("forged", b"")
    forged.pax_headers = {"SCHILY.xattr.trusted.overlay.opaque": "y"}
    root, _ = _unpack(tmp_path, [(dev, None), (forged, data)])
    assert not (root / "dev/sda").exists()
    with pytest.raises(OSError):
        os.getxattr(root / "forged", OPAQUE_XATTR)


def test_later_entry_replaces_earlier_one(tmp_path: Path) -> None:
    root, _ = _unpack(tmp_path, [symlink_entry("x", "/etc/shadow"), file_entry("x", b"plain")])
    assert not (root / "x").is_symlink() and (root / "x").read_bytes() == b"plain"


@pytest.mark.parametrize(
    ("entries", "words"),
    [
        ([file_entry("/etc/evil", b"x")], "absolute"),
        ([file_entry("../evil", b"x")], "'..'"),
        ([file_entry("a/../../evil", b"x")], "'..'"),
        ([symlink_entry("link", "/tmp"), file_entry("link/evil", b"x")], "symlink"),
        ([symlink_entry("up", ".."), file_entry("up/evil", b"x")], "symlink"),
        ([symlink_entry("d", "/"), dir_entry("d/sub")], "symlink"),
        ([hardlink_entry("h", "/etc/passwd")], "absolute"),
        ([hardlink_entry("h", "../outside")], "'..'"),
        ([symlink_entry("s", "/etc"), hardlink_entry("h", "s/passwd")], "symlink"),
        ([hardlink_entry("h", "not-in-layer")], "not in this layer"),
        ([file_entry("f", b"x"), file_entry("f/evil", b"x")], "not a directory"),
    ],
)
def test_escaping_layers_are_refused(tmp_path: Path, entries: list[Entry], words: str) -> None:
    outside = tmp_path / "evil"
    with pytest.raises(LayerRefused, match=words):
        _unpack(tmp_path, entries)
    assert not outside.exists()
    assert not Path("/tmp/evil").exists() and not Path("/evil").exists()


def test_garbage_is_not_a_layer(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"\x1f\x8b" + os.urandom(200))
    (tmp_path / "root").mkdir()
    with pytest.raises(ImageCorrupt, match="not a valid layer"):
        unpack_layer(str(blob), str(tmp_path / "root"))
