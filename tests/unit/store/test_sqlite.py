"""What only the SQLite store promises: durability, group commit, bounded files, one owner."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kubelite.store import sqlite as sqlite_module
from kubelite.store.interface import Event, KeyValue, UnavailableError, WatchOverflowError
from kubelite.store.sqlite import SqliteStore

CRASH_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from kubelite.store.sqlite import SqliteStore

    async def main(path):
        store = SqliteStore(path, compact_interval=0)
        await store.start()

        async def writer(w):
            for i in range(10**9):
                key = f"/crash/{w}/{i}"
                rev = await store.create(key, key.encode())
                print(rev, key, flush=True)  # printed only once acknowledged

        await asyncio.gather(*(writer(w) for w in range(8)))

    asyncio.run(main(sys.argv[1]))
    """
)


def file_size(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{suffix}") for suffix in ("", "-wal") if os.path.exists(f"{path}{suffix}"))


async def test_every_acknowledged_write_survives_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASH_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    acked: list[str] = []
    try:
        while len(acked) < 2000:
            line = await asyncio.wait_for(asyncio.to_thread(writer.stdout.readline), 30)
            assert line, f"the writer stopped early (exit code {writer.poll()})"
            acked.append(line)
        writer.send_signal(signal.SIGKILL)  # mid-flow: more commits are in flight
        acked += writer.stdout.readlines()
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == -signal.SIGKILL

    store = SqliteStore(str(path), compact_interval=0)
    await store.start()
    try:
        complete = [line.split() for line in acked if line.endswith("\n")]
        for rev_text, key in complete:
            rev = int(rev_text)
            assert await store.get(key) == KeyValue(key, key.encode(), rev, rev)
        newest = max(int(rev) for rev, _ in complete)
        assert await store.current_revision() >= newest
        assert await store.create("/crash/after", b"x") > newest
    finally:
        await store.close()


async def test_concurrent_writers_share_transactions(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "state.db"), compact_interval=0)
    await store.start()
    try:

        async def client(c: int) -> None:
            for i in range(10):
                await store.create(f"/gc/{c}/{i}", b"x")

        await asyncio.gather(*(client(c) for c in range(64)))
        assert len((await store.list("/gc/")).items) == 640
        assert store.commits < 640 / 4  # each fsync carries many writes
    finally:
        await store.close()


async def test_files_stop_growing_under_updates_with_compaction(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    keep = 200
    store = SqliteStore(str(path), compact_interval=0.02, compact_keep=keep)
    await store.start()
    try:
        value = os.urandom(2048)
        keys = [f"/registry/pods/default/pod-{i}" for i in range(50)]
        for key in keys:
            await store.create(key, value)
        sizes = []
        for _ in range(80):

            async def client(c: int) -> None:
                for key in keys[c::10]:
                    await store.update(key, value, 0)

            await asyncio.gather(*(client(c) for c in range(10)))
            target = await store.current_revision() - keep - len(keys)
            async with asyncio.timeout(10):  # the scheduled compaction catches up
                while store.compacted_revision < target:
                    await asyncio.sleep(0.005)
            sizes.append(file_size(path))
        written = 80 * len(keys) * len(value)
        early, late = max(sizes[10:40]), max(sizes[40:])
        assert late <= early * 1.25, sizes
        assert late < written / 3, sizes
        assert os.path.getsize(f"{path}-wal") < 4 * 1024 * 1024  # truncated after each compaction
    finally:
        await store.close()


async def test_compaction_in_many_slices_keeps_what_reads_and_watches_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "_SWEEP_WINDOW", 7)
    path = tmp_path / "state.db"
    store = SqliteStore(str(path), compact_interval=0)
    await store.start()
    try:
        for i in range(20):
            await store.create(f"/s/{i}", b"v0")
        for round_ in range(1, 4):
            for i in range(0, 20, round_):
                await store.update(f"/s/{i}", f"v{round_}".encode(), 0)
        for i in range(0, 20, 5):
            await store.delete(f"/s/{i}")
        at = await store.current_revision() - 3
        before = await store.list("/s/", revision=at)
        tail = await take(store, "/s/", at, 3)
        await store.compact(at)
        assert await store.list("/s/", revision=at) == before
        assert await take(store, "/s/", at, 3) == tail
        with sqlite3.connect(path) as db:
            rows = db.execute("SELECT COUNT(*) FROM kv WHERE revision <= ?", (at,)).fetchone()[0]
        assert rows == len(before.items)  # one row per live key, no tombstone, no history
    finally:
        await store.close()


async def take(store: SqliteStore, prefix: str, after: int, n: int) -> list[Event]:
    watch = store.watch(prefix, after)
    async with asyncio.timeout(10):
        return [await anext(watch) for _ in range(n)]


async def test_reopening_keeps_values_revisions_and_compaction(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    store = SqliteStore(path, compact_interval=0)
    await store.start()
    r1 = await store.create("/r/a", b"1")
    r2 = await store.update("/r/a", b"2", r1)
    r3 = (await store.delete("/r/a")).mod_revision
    await store.compact(r3)  # removes every row, the tombstone included
    await store.close()

    store = SqliteStore(path, compact_interval=0)
    await store.start()
    try:
        assert await store.current_revision() == r3
        assert store.compacted_revision == r3
        assert await store.create("/r/a", b"3") == r3 + 1 > r2
    finally:
        await store.close()


async def test_a_second_owner_of_the_file_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    first = SqliteStore(path, compact_interval=0)
    await first.start()
    try:
        with pytest.raises(UnavailableError, match="in use"):
            await SqliteStore(path, compact_interval=0).start()
    finally:
        await first.close()
    again = SqliteStore(path, compact_interval=0)
    await again.start()
    await again.close()


async def test_a_new_database_uses_wal_and_incremental_vacuum(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    store = SqliteStore(path, compact_interval=0)
    await store.start()
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental


async def test_a_watcher_that_falls_behind_is_dropped(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "state.db"), compact_interval=0, watch_buffer=10)
    await store.start()
    try:
        start = await store.current_revision()
        await store.create("/slow/0", b"x")
        slow = store.watch("/slow/", start)
        first = await anext(slow)  # replayed; the watch is live now, and then not read
        for i in range(1, 30):
            await store.create(f"/slow/{i}", b"x")
        delivered = [first]
        with pytest.raises(WatchOverflowError):
            async for event in slow:
                delivered.append(event)
        assert [e.kv.key for e in delivered] == [f"/slow/{i}" for i in range(len(delivered))]
        assert len(delivered) <= 11
        # A new watch from the last revision seen picks up where it stopped.
        rest = store.watch("/slow/", delivered[-1].revision)
        assert (await anext(rest)).kv.key == f"/slow/{len(delivered)}"
    finally:
        await store.close()


async def test_closing_the_store_ends_its_watches(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "state.db"), compact_interval=0)
    await store.start()
    watch = store.watch("/", await store.current_revision())
    pending = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(0.05)
    await store.close()
    with pytest.raises(UnavailableError):
        await pending


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not an SQLite database, whatever its name says" * 10)
    with pytest.raises(UnavailableError, match="not a database"):
        await SqliteStore(str(path), compact_interval=0).start()
