"""The embedded store: one SQLite file, one writer thread, group commit, in-process watch.

Schema, after k3s' kine: a single table of revisions. Every create, update and delete
appends one row; the newest row of a key is its current value (a row with `deleted = 1`
is a tombstone that carries the last value). `prev_revision` links a row to the key's
previous live row, so a watch replays an update with its old value by one join.

Writes go through one thread with its own connection. It takes every write that is
waiting, applies them in one transaction (each checked against the rows written before it
in the same transaction), commits once (WAL, synchronous=FULL: one fsync for the batch),
then, on the event loop, publishes the batch's events to the watchers and answers each
caller. Sixty-four concurrent writers therefore share one fsync instead of queueing for
sixty-four.

Reads run on a small pool of threads, each with its own connection; each read is one
transaction, so `list` sees one snapshot. A watch first replays history from the table,
then follows the in-process broadcast (`_fanout.py`), with no polling.

Compaction (every `compact_interval` seconds, keeping `compact_keep` revisions) records the
compacted revision, deletes the rows it superseded in slices that interleave with writes,
then gives the space back: incremental vacuum and `wal_checkpoint(TRUNCATE)`.

One process owns the file at a time (an flock on it): revisions and watch events come
from this process's writer, so a second writer would break both.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from ._fanout import Fanout
from .interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionConflictError,
    StoreError,
    UnavailableError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    revision      INTEGER PRIMARY KEY,  -- cluster-wide, strictly increasing
    key           TEXT    NOT NULL,
    value         BLOB    NOT NULL,     -- for a tombstone: the value it deleted
    created       INTEGER NOT NULL,     -- create_revision of this life of the key
    prev_revision INTEGER NOT NULL,     -- the key's previous live row; 0 for a create
    deleted       INTEGER NOT NULL      -- 1: tombstone
);
CREATE INDEX IF NOT EXISTS kv_key_revision ON kv (key, revision);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_LATEST = "SELECT revision, value, created, deleted FROM kv WHERE key = ? ORDER BY revision DESC LIMIT 1"
_AT = (
    "SELECT revision, value, created, deleted FROM kv WHERE key = ? AND revision <= ?"
    " ORDER BY revision DESC LIMIT 1"
)
_INSERT = (
    "INSERT INTO kv (revision, key, value, created, prev_revision, deleted)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_SNAPSHOT = (
    "SELECT (SELECT MAX(revision) FROM kv),"
    " (SELECT value FROM meta WHERE name = 'compact_revision'),"
    " (SELECT value FROM meta WHERE name = 'swept_revision')"
)

_MAX_BATCH = 512  # writes per transaction
_REPLAY_PAGE = 1000  # history rows per read when a watch catches up
_SWEEP_WINDOW = 10_000  # revisions per compaction slice (at most that many rows)
_READERS = 4
_CACHE_KIB = 32 * 1024
_INLINE_BUSY_TIMEOUT = 0.01  # seconds the loop's own point reads wait for a lock before a thread does
_WAL_LIMIT = 64 * 1024 * 1024  # what a checkpoint truncates the WAL file back to


_Op = Literal["create", "update", "delete"]


@dataclass(slots=True)
class _Write:
    op: _Op
    key: str
    value: bytes
    expected: int
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _Call:
    """Run `fn(connection)` alone on the writer thread (schema, compaction, reclaim)."""

    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


_STOP = object()

# Module-level names: inside the class, `list` is the Store method.
_Outcome = tuple[asyncio.Future[Any], Any, StoreError | None]
_Outcomes = list[_Outcome]
_Events = list[Event]
_Batch = list[_Write]


class SqliteStore:
    """`Store` on a local SQLite file (the default; see the module docstring)."""

    def __init__(
        self,
        path: str,
        *,
        compact_interval: float = 300.0,
        compact_keep: int = 1000,
        watch_buffer: int = 10_000,
    ) -> None:
        self.path = path
        self._compact_interval = compact_interval
        self._compact_keep = compact_keep
        self._fanout = Fanout(limit=watch_buffer)
        self._queue: queue.SimpleQueue[_Write | _Call | object] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._writer: threading.Thread | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._inline_conn: sqlite3.Connection | None = None  # point reads on the loop's thread
        self._conns_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._compactor: asyncio.Task[None] | None = None
        self._compact_lock = asyncio.Lock()
        # Written by the writer thread only, read anywhere.
        self._revision = 0  # last committed revision
        self._compacted = 0  # compacted revision
        self.commits = 0  # write transactions committed (group commit makes this << writes)

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._loop is not None:
            raise RuntimeError("SqliteStore.start() called twice")
        self._loop = asyncio.get_running_loop()
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        except OSError as e:
            raise UnavailableError(f"cannot create the directory of {self.path}: {e}") from e
        self._lock_fd = _lock_file(self.path)
        try:
            conn = await asyncio.to_thread(self._connect)
            self._writer = threading.Thread(
                target=self._writer_main, args=(conn,), name=f"sqlite-writer {self.path}", daemon=True
            )
            self._writer.start()
            self._revision, self._compacted = await self._call(self._init_schema)
        except BaseException as e:
            await self.close()
            if isinstance(e, sqlite3.Error):
                raise UnavailableError(f"cannot open {self.path}: {e}") from e
            raise
        self._fanout.revision = self._revision
        self._readers = ThreadPoolExecutor(_READERS, thread_name_prefix="sqlite-reader")
        self._inline_conn = self._connect(busy_timeout=_INLINE_BUSY_TIMEOUT)
        if self._compact_interval > 0:
            self._compactor = asyncio.create_task(self._compact_periodically())

    async def close(self) -> None:
        if self._loop is None or self._closed:
            return
        self._closed = True
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
        self._queue.put(_STOP)  # after every write already queued
        if self._writer is not None:
            await asyncio.to_thread(self._writer.join)
        self._fanout.close(UnavailableError("the store is closed"))
        if self._readers is not None:
            await asyncio.to_thread(self._readers.shutdown, True)
        with self._conns_lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()
        if self._inline_conn is not None:
            self._inline_conn.close()
            self._inline_conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # only now: closing any fd of the file drops sqlite's locks
            self._lock_fd = None

    @property
    def compacted_revision(self) -> int:
        """History at and below this revision is gone (0: never compacted)."""
        return self._compacted

    # -- the Store protocol -------------------------------------------------------------

    async def current_revision(self) -> int:
        self._check_open()
        return self._revision

    async def create(self, key: str, value: bytes) -> int:
        rev: int = await self._write("create", key, value, 0)
        return rev

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        rev: int = await self._write("update", key, value, expected_revision)
        return rev

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        deleted: KeyValue = await self._write("delete", key, b"", expected_revision)
        return deleted

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        """A point read, on the event loop's own connection: it takes microseconds, less
        than handing it to a reader thread and waking the loop again. If a checkpoint
        holds the file for a moment, the read waits in a reader thread instead."""
        self._check_open()
        conn = self._inline_conn
        if conn is not None:
            try:
                conn.execute("BEGIN")
                try:
                    return _get(conn, key, revision)
                finally:
                    conn.execute("ROLLBACK")
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e):
                    raise UnavailableError(f"sqlite read failed: {e}") from e
        return await self._read(_get, key, revision)

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        return await self._read(_list, prefix, revision, limit, start_after)

    async def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        self._check_open()
        # Subscribe first: everything after `upto` reaches the subscription, everything up to
        # it is already committed and so in the table. No gap, and no event seen twice.
        sub = self._fanout.subscribe(prefix)
        try:
            if from_revision < self._compacted:
                raise CompactedError(from_revision, self._compacted)
            upto = self._fanout.revision
            cursor = from_revision
            while cursor < upto:
                page = await self._read(_history, prefix, cursor, upto)
                for event in page:
                    yield event
                if len(page) < _REPLAY_PAGE:
                    break
                cursor = page[-1].revision
            last = max(from_revision, upto)
            while True:
                for event in await sub.get():
                    if event.revision > last:
                        last = event.revision
                        yield event
        finally:
            sub.close()

    async def compact(self, revision: int) -> None:
        async with self._compact_lock:
            swept = await self._call(functools.partial(self._mark_compacted, revision=revision))
            if swept is None:
                return
            lo = swept
            while lo < revision:  # slices, so that writes queued meanwhile are not held up
                hi = min(lo + _SWEEP_WINDOW, revision)
                await self._call(functools.partial(_sweep, lo=lo, hi=hi))
                lo = hi
            await self._call(_reclaim)

    # -- plumbing -----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._loop is None:
            raise UnavailableError("the store is not started")
        if self._closed:
            raise UnavailableError("the store is closed")

    async def _write(self, op: _Op, key: str, value: bytes, expected: int) -> Any:
        self._check_open()
        assert self._loop is not None
        future = self._loop.create_future()
        self._queue.put(_Write(op, key, value, expected, future))
        return await future

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise UnavailableError("the store is closed")
        assert self._loop is not None
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put(_Call(fn, future))
        return await future

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        self._check_open()
        assert self._loop is not None
        return await self._loop.run_in_executor(self._readers, self._read_txn, fn, args)

    def _read_txn(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._conns_lock:
                self._reader_conns.append(conn)
        try:
            conn.execute("BEGIN")
            try:
                return fn(conn, *args)
            finally:
                conn.execute("ROLLBACK")
        except sqlite3.Error as e:
            raise UnavailableError(f"sqlite read failed: {e}") from e

    def _connect(self, busy_timeout: float = 30.0) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
        )
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        return conn

    def _settle(self, future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
        if future.done():  # the caller was cancelled; the write may still have happened
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def _to_loop(self, fn: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            self._loop.call_soon_threadsafe(fn, *args)

    # -- the writer thread --------------------------------------------------------------

    def _writer_main(self, conn: sqlite3.Connection) -> None:
        try:
            held: _Write | _Call | object | None = None
            while True:
                job = held if held is not None else self._queue.get()
                held = None
                if job is _STOP:
                    return
                if isinstance(job, _Call):
                    self._run_call(conn, job)
                    continue
                assert isinstance(job, _Write)
                batch: _Batch = [job]
                while len(batch) < _MAX_BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if not isinstance(more, _Write):
                        held = more
                        break
                    batch.append(more)
                self._commit_batch(conn, batch)
        finally:
            conn.close()

    def _run_call(self, conn: sqlite3.Connection, call: _Call) -> None:
        try:
            result = call.fn(conn)
        except StoreError as e:
            self._to_loop(self._settle, call.future, None, e)
        except sqlite3.Error as e:
            _rollback(conn)
            self._to_loop(self._settle, call.future, None, UnavailableError(f"sqlite: {e}"))
        except Exception as e:  # a bug: hand it to the caller rather than kill the writer
            _rollback(conn)
            self._to_loop(self._settle, call.future, None, e)
        else:
            self._to_loop(self._settle, call.future, result, None)

    def _commit_batch(self, conn: sqlite3.Connection, batch: _Batch) -> None:
        events: _Events = []
        outcomes: _Outcomes = []
        rev = self._revision
        try:
            conn.execute("BEGIN IMMEDIATE")
            for w in batch:
                try:
                    result, event = _apply(conn, w, rev + 1)
                except (KeyExistsError, KeyNotFoundError, RevisionConflictError) as e:
                    outcomes.append((w.future, None, e))
                    continue
                rev += 1
                events.append(event)
                outcomes.append((w.future, result, None))
            conn.execute("COMMIT")  # the fsync: nothing is acknowledged before it
        except Exception as e:
            _rollback(conn)
            log.error("sqlite write transaction failed: %s", e)
            error = UnavailableError(f"sqlite write failed: {e}")
            outcomes = [(w.future, None, error) for w in batch]
            self._to_loop(self._deliver, [], outcomes)
            return
        self._revision = rev
        self.commits += 1
        self._to_loop(self._deliver, events, outcomes)

    def _deliver(self, events: _Events, outcomes: _Outcomes) -> None:
        """On the loop: watchers first, then the writers (so a writer that then watches from
        its own revision finds its event already published)."""
        self._fanout.publish(events)
        for future, result, error in outcomes:
            self._settle(future, result, error)

    def _init_schema(self, conn: sqlite3.Connection) -> tuple[int, int]:
        # auto_vacuum only takes effect while the file has no table yet, so it goes first.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise UnavailableError(f"{self.path}: cannot switch to WAL (journal_mode={mode})")
        conn.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT}")
        conn.executescript(_SCHEMA)
        current, compacted, _ = _snapshot(conn)
        return current, compacted

    # -- compaction ---------------------------------------------------------------------

    def _mark_compacted(self, conn: sqlite3.Connection, revision: int) -> int | None:
        """Record the compacted revision; returns where the sweep starts (None: nothing to do)."""
        current, compacted, swept = _snapshot(conn)
        if revision > current:
            raise FutureRevisionError(revision, current)
        if revision <= compacted:
            return None
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('compact_revision', ?)", (revision,))
        conn.execute("COMMIT")
        self._compacted = revision  # from now on, reads below it raise CompactedError
        return swept

    async def _compact_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._compact_interval)
            target = self._revision - self._compact_keep
            if target <= self._compacted:
                continue
            try:
                await self.compact(target)
            except StoreError as e:
                log.warning("scheduled compaction to %d failed: %s", target, e)


# -- statements, each run inside the transaction of its caller ------------------------------


def _lock_file(path: str) -> int:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise UnavailableError(f"cannot open {path}: {e.strerror}") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UnavailableError(f"{path} is in use by another process") from None
    return fd


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _snapshot(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """(current revision, compacted revision, revision the sweep has reached)."""
    top, compacted, swept = conn.execute(_SNAPSHOT).fetchone()
    compacted = compacted or 0
    # A compaction may have removed the newest row (a tombstone): the revision stays.
    return max(top or 0, compacted), compacted, swept or 0


def _check_revision(revision: int, current: int, compacted: int) -> None:
    if revision and revision < compacted:
        raise CompactedError(revision, compacted)
    if revision > current:
        raise FutureRevisionError(revision, current)


def _apply(conn: sqlite3.Connection, w: _Write, rev: int) -> tuple[Any, Event]:
    row = conn.execute(_LATEST, (w.key,)).fetchone()
    live = row is not None and not row[3]
    if w.op == "create":
        if live:
            raise KeyExistsError(w.key)
        conn.execute(_INSERT, (rev, w.key, w.value, rev, 0, 0))
        return rev, Event("PUT", KeyValue(w.key, w.value, rev, rev), None, rev)
    if not live:
        raise KeyNotFoundError(w.key)
    old_rev, old_value, created, _ = row
    current = KeyValue(w.key, old_value, created, old_rev)
    if w.expected and w.expected != old_rev:
        raise RevisionConflictError(w.key, current)
    if w.op == "update":
        conn.execute(_INSERT, (rev, w.key, w.value, created, old_rev, 0))
        return rev, Event("PUT", KeyValue(w.key, w.value, created, rev), current, rev)
    conn.execute(_INSERT, (rev, w.key, old_value, created, old_rev, 1))
    gone = KeyValue(w.key, old_value, created, rev)
    return gone, Event("DELETE", gone, current, rev)


def _get(conn: sqlite3.Connection, key: str, revision: int) -> KeyValue | None:
    current, compacted, _ = _snapshot(conn)
    _check_revision(revision, current, compacted)
    if revision:
        row = conn.execute(_AT, (key, revision)).fetchone()
    else:
        row = conn.execute(_LATEST, (key,)).fetchone()
    if row is None or row[3]:
        return None
    return KeyValue(key, row[1], row[2], row[0])


def _list(
    conn: sqlite3.Connection, prefix: str, revision: int, limit: int, start_after: str
) -> ListResult:
    current, compacted, _ = _snapshot(conn)
    _check_revision(revision, current, compacted)
    at = revision or current
    where, params = _key_range("k.key", prefix, start_after)
    sql = (
        "SELECT k.key, k.value, k.created, k.revision FROM kv AS k"
        f" WHERE {where} AND k.revision <= ? AND k.deleted = 0"
        " AND k.revision = (SELECT MAX(revision) FROM kv WHERE key = k.key AND revision <= ?)"
        " ORDER BY k.key LIMIT ?"
    )
    rows = conn.execute(sql, (*params, at, at, limit + 1 if limit > 0 else -1)).fetchall()
    more = limit > 0 and len(rows) > limit
    if more:
        rows = rows[:limit]
    return ListResult([KeyValue(k, v, c, r) for k, v, c, r in rows], at, more)


def _history(conn: sqlite3.Connection, prefix: str, after: int, upto: int) -> list[Event]:
    """Up to one page of events under `prefix` in (after, upto], in revision order."""
    current, compacted, _ = _snapshot(conn)
    if after < compacted:
        raise CompactedError(after, compacted)
    where, params = _key_range("k.key", prefix, "")
    sql = (
        "SELECT k.revision, k.key, k.value, k.created, k.prev_revision, k.deleted,"
        " p.value, p.created FROM kv AS k LEFT JOIN kv AS p ON p.revision = k.prev_revision"
        f" WHERE k.revision > ? AND k.revision <= ? AND {where}"
        " ORDER BY k.revision LIMIT ?"
    )
    events = []
    for rev, key, value, created, prev_rev, deleted, prev_value, prev_created in conn.execute(
        sql, (after, upto, *params, _REPLAY_PAGE)
    ):
        if deleted:  # a tombstone knows what it deleted
            prev = KeyValue(key, value, created, prev_rev)
            events.append(Event("DELETE", KeyValue(key, value, created, rev), prev, rev))
        else:
            prev = None
            if prev_rev and prev_value is not None:
                prev = KeyValue(key, prev_value, prev_created, prev_rev)
            events.append(Event("PUT", KeyValue(key, value, created, rev), prev, rev))
    return events


def _key_range(column: str, prefix: str, start_after: str) -> tuple[str, list[str]]:
    """SQL bounds for keys under `prefix`, strictly after `start_after` (index-friendly)."""
    if start_after and start_after >= prefix:
        clauses, params = [f"{column} > ?"], [start_after]
    else:
        clauses, params = [f"{column} >= ?"], [prefix]
    end = prefix_end(prefix)
    if end is not None:
        clauses.append(f"{column} < ?")
        params.append(end)
    return " AND ".join(clauses), params


def prefix_end(prefix: str) -> str | None:
    """The least string greater than every string starting with `prefix` (None: no bound).

    SQLite compares TEXT as UTF-8 bytes, which orders like code points, as Python does.
    """
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            following = last + 1 if last + 1 != 0xD800 else 0xE000  # skip surrogates
            return prefix[:-1] + chr(following)
        prefix = prefix[:-1]
    return None


def _sweep(conn: sqlite3.Connection, lo: int, hi: int) -> None:
    """Delete what rows in (lo, hi] superseded (all at or below the compacted revision),
    and the tombstones among them. A crash between slices resumes at `swept_revision`."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "DELETE FROM kv WHERE revision IN (SELECT prev_revision FROM kv"
        " WHERE revision > ? AND revision <= ? AND prev_revision > 0)",
        (lo, hi),
    )
    conn.execute("DELETE FROM kv WHERE revision > ? AND revision <= ? AND deleted = 1", (lo, hi))
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('swept_revision', ?)", (hi,))
    conn.execute("COMMIT")


def _reclaim(conn: sqlite3.Connection) -> None:
    """Give freed pages back to the file system, then empty the WAL."""
    conn.execute("PRAGMA incremental_vacuum").fetchall()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
