"""Snapshot files: k3s' names, listing, deleting by name only, pruning one prefix to the
retention, and the schedule's next time."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from kubelite.etcd import snapshots


def _file(directory: Path, name: str, mtime: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(b"snap")
    os.utime(directory / name, (mtime, mtime))


def test_names_are_prefix_member_and_unix_seconds(tmp_path: Path) -> None:
    assert snapshots.snapshot_path(tmp_path, "on-demand", "host-1a2b", 1700000000.9).name == \
        "on-demand-host-1a2b-1700000000"


def test_listing_is_oldest_first_without_partial_files(tmp_path: Path) -> None:
    _file(tmp_path, "b", 200)
    _file(tmp_path, "a", 100)
    _file(tmp_path, "c.part", 300)
    found = snapshots.listing(tmp_path)
    assert [s.name for s in found] == ["a", "b"] and found[0].size == 4
    assert found[0].location == (tmp_path / "a").as_uri()
    assert snapshots.listing(tmp_path / "missing") == []


def test_prune_keeps_the_newest_of_its_own_prefix(tmp_path: Path) -> None:
    for i in range(4):
        _file(tmp_path, f"etcd-snapshot-m-{i}", 100 + i)
    _file(tmp_path, "on-demand-m-0", 1)
    assert snapshots.prune(tmp_path, "etcd-snapshot-m", 2) == ["etcd-snapshot-m-0", "etcd-snapshot-m-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["etcd-snapshot-m-2", "etcd-snapshot-m-3", "on-demand-m-0"]


def test_delete_takes_names_never_paths(tmp_path: Path) -> None:
    _file(tmp_path / "snaps", "one", 1)
    _file(tmp_path, "outside", 1)
    assert snapshots.delete(tmp_path / "snaps", ["one", "../outside", "..", "none"]) == ["../outside", "..", "none"]
    assert not (tmp_path / "snaps" / "one").exists() and (tmp_path / "outside").exists()


def test_the_schedule_is_cron_in_local_time() -> None:
    after = dt.datetime(2026, 1, 1, 5, 30).astimezone()
    assert snapshots.next_time(snapshots.DEFAULT_CRON, after).hour == 12
    assert snapshots.next_time("@hourly", after).minute == 0
    with pytest.raises(ValueError, match="--etcd-snapshot-schedule-cron"):
        snapshots.check_cron("0 0 L * *")


@pytest.mark.parametrize("prefix", ["", "../x", "A", "a/b", "-a"])
def test_bad_names_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError):
        snapshots.check_prefix(prefix)


async def test_the_schedule_saves_then_prunes_to_the_retention(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    saved: list[str] = []

    async def fake_save(client_url: str, directory: Path, prefix: str, member: str) -> snapshots.Snapshot:
        name = f"{prefix}-{member}-{len(saved)}"
        _file(directory, name, 1000 + len(saved))
        saved.append(name)
        return snapshots._snapshot(directory / name)

    monkeypatch.setattr(snapshots, "save", fake_save)
    monkeypatch.setattr(snapshots, "next_time", lambda expr, after: after)  # due at once, every time
    schedule = snapshots.SnapshotSchedule("http://127.0.0.1:1", tmp_path,
                                          snapshots.SnapshotSettings(retention=2, member="m"))
    schedule.start()
    try:
        async with asyncio.timeout(10):
            while len(saved) < 4:
                await asyncio.sleep(0.01)
    finally:
        await schedule.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(saved[-2:])  # each save is followed by its prune
