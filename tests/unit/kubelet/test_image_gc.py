"""Image GC by disk use: the kubelet's thresholds, oldest unused images first, used ones kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelite.kubelet.image_gc import ImageGcPolicy, bytes_to_free, collect
from kubelite.runtime.images import ImageStore
from tests.helpers.registry import build_busybox_image

POLICY = ImageGcPolicy(high_percent=85, low_percent=80)


def test_nothing_to_free_below_the_high_threshold() -> None:
    assert bytes_to_free(1000, 200, POLICY) == 0  # 80 % used
    assert bytes_to_free(1000, 160, POLICY) == 0  # 84 % used
    assert bytes_to_free(1000, 151, POLICY) == 49  # 84.9 %: Go rounds the free share down
    assert bytes_to_free(1000, 150, POLICY) == 50  # 85 %: back down to 80 %
    assert bytes_to_free(1000, 0, POLICY) == 200
    assert bytes_to_free(0, 0, POLICY) == 0


@pytest.fixture
async def store(tmp_path: Path) -> ImageStore:
    s = ImageStore(str(tmp_path / "store"))
    for name, files in (("old", {"/a": b"a" * 50_000}), ("used", {"/u": b"u" * 50_000}),
                        ("new", {"/n": b"n" * 50_000})):
        layout = build_busybox_image(tmp_path / name, extra_files=files)
        await s.import_archive(layout.path, reference=f"{name}:1")
    return s


def disk_needing(need: int) -> tuple[int, int]:
    """A filesystem 90 % full that must free exactly `need` bytes to be back at 80 %."""
    return 10 * need, need


async def test_disk_below_the_threshold_removes_nothing(store: ImageStore) -> None:
    assert await collect(store, set(), POLICY, space=lambda _: (1000, 500)) is None
    assert len(store.list()) == 3


async def test_oldest_unused_image_goes_first(store: ImageStore) -> None:
    result = await collect(store, {"docker.io/library/used:1"}, POLICY,
                           space=lambda _: disk_needing(1))
    assert result is not None and result.removed == ["docker.io/library/old:1"]
    assert result.freed_bytes > 0
    assert {r.reference for r in store.list()} == {"docker.io/library/used:1",
                                                   "docker.io/library/new:1"}


async def test_images_in_use_are_never_removed(store: ImageStore) -> None:
    used = store.get("used:1")
    assert used is not None
    result = await collect(store, {used.repo_digest}, POLICY,
                           space=lambda _: disk_needing(10 * store.disk_usage()))
    assert result is not None
    assert sorted(result.removed) == ["docker.io/library/new:1", "docker.io/library/old:1"]
    assert [r.reference for r in store.list()] == ["docker.io/library/used:1"]
