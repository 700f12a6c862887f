"""Overlay root filesystems from unpacked layers (needs root: mounts overlayfs)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelite.runtime.images import mount_rootfs, unmount
from kubelite.runtime.images.rootfs import is_mounted
from kubelite.runtime.images.unpack import unpack_layer
from tests.helpers.registry import (
    Entry,
    dir_entry,
    file_entry,
    make_layer,
    opaque_entry,
    whiteout_entry,
)

pytestmark = pytest.mark.root


def _layer(tmp_path: Path, name: str, entries: list[Entry]) -> str:
    blob = tmp_path / f"{name}.tar.gz"
    blob.write_bytes(make_layer(entries))
    root = tmp_path / name
    root.mkdir()
    unpack_layer(str(blob), str(root))
    return str(root)


@pytest.fixture
def merged(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "merged"
    yield target
    unmount(str(target))


def test_whiteout_in_top_layer_hides_the_file(tmp_path: Path, merged: Path) -> None:
    bottom = _layer(
        tmp_path,
        "bottom",
        [
            file_entry("etc/deleted", b"old"),
            file_entry("etc/kept", b"kept"),
            file_entry("data/old-a", b"a"),
            file_entry("data/old-b", b"b"),
        ],
    )
    top = _layer(
        tmp_path,
        "top",
        [
            dir_entry("etc"),
            whiteout_entry("etc/deleted"),
            opaque_entry("data"),
            file_entry("data/new", b"n"),
        ],
    )
    mount_rootfs([top, bottom], str(tmp_path / "upper"), str(tmp_path / "work"), str(merged))
    assert is_mounted(str(merged))
    assert not (merged / "etc/deleted").exists()
    assert (merged / "etc/kept").read_bytes() == b"kept"
    assert sorted(os.listdir(merged / "data")) == ["new"]


def test_single_layer_is_writable_without_touching_the_layer(tmp_path: Path, merged: Path) -> None:
    layer = _layer(tmp_path, "only", [file_entry("www/index.html", b"v1")])
    upper = tmp_path / "upper"
    mount_rootfs([layer], str(upper), str(tmp_path / "work"), str(merged))
    (merged / "www/index.html").write_bytes(b"v2")
    (merged / "new").write_bytes(b"n")
    os.unlink(merged / "www/index.html")
    assert (Path(layer) / "www/index.html").read_bytes() == b"v1"
    assert not (Path(layer) / "new").exists()
    assert (upper / "new").read_bytes() == b"n"
    unmount(str(merged))
    assert not is_mounted(str(merged))
    unmount(str(merged))  # not mounted any more: no error


def test_no_layers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no layers"):
        mount_rootfs([], str(tmp_path / "u"), str(tmp_path / "w"), str(tmp_path / "m"))
