"""The watch cache: one store watch, fanned out in process to every client watch.

The store is watched once from server start. Recent events stay in a ring buffer so a
client watching from a recent resourceVersion is served from memory; an older one gets
410 Expired and re-lists, as with a real API server. Each client watch owns a bounded
queue; a client that falls too far behind is cut off rather than growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubelite.api import status as st
from kubelite.apiserver import objects
from kubelite.apiserver.list_cache import ListCache
from kubelite.store.interface import CompactedError, Event, Store

log = logging.getLogger(__name__)

BLOCK_TIMEOUT = 3.0  # seconds a read waits for a resourceVersion the cache has not reached
TOO_LARGE_RETRY_SECONDS = 1  # the Retry-After of the 504 when it never came
RETRY_FIRST, RETRY_MAX = 0.5, 4.0  # seconds between tries of a failed store watch, doubling

ObjectFilter = Callable[[dict[str, Any]], bool]


def text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455 5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def _brief(e: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:200]}" if text else type(e).__name__


@dataclass(slots=True)
class CachedEvent:
    """A store event with the object's bytes (resourceVersion set) and lazily decoded dicts.

    The dicts are kept only while the event is fanned out (every filtered watcher reads them
    then); in the ring buffer an event keeps just its bytes. Decoded pods retained by 20,000
    events were half a million long-lived dicts: each full garbage collection walked them all.
    """

    revision: int
    type: str  # "PUT" or "DELETE"
    key: str
    data: bytes
    created: bool
    prev_data: bytes | None
    _obj: dict[str, Any] | None = None
    _prev: dict[str, Any] | None = None
    _chunks: dict[str, bytes] | None = None
    _messages: dict[str, bytes] | None = None
    _fanned_out: bool = False  # decoded dicts are no longer kept

    def frame(self, watch_type: str) -> bytes:
        """The watch event line: `{"type":"ADDED","object":{...}}` and a newline."""
        return b'{"type":"%s","object":%s}\n' % (watch_type.encode(), self.data)

    def chunk(self, watch_type: str) -> bytes:
        """The event line framed as one HTTP/1.1 chunk, built once and shared by every watcher."""
        chunks = self._chunks
        if chunks is None:
            chunks = self._chunks = {}
        out = chunks.get(watch_type)
        if out is None:
            line = self.frame(watch_type)
            out = chunks[watch_type] = b"%x\r\n%s\r\n" % (len(line), line)
        return out

    def message(self, watch_type: str) -> bytes:
        """The event line framed as one WebSocket text message, built once and shared."""
        messages = self._messages
        if messages is None:
            messages = self._messages = {}
        out = messages.get(watch_type)
        if out is None:
            out = messages[watch_type] = text_frame(self.frame(watch_type))
        return out

    @property
    def obj(self) -> dict[str, Any]:
        obj = self._obj
        if obj is None:
            obj = objects.decode(self.data)
            if not self._fanned_out:
                self._obj = obj
        return obj

    @property
    def prev(self) -> dict[str, Any] | None:
        if self.prev_data is None:
            return None
        prev = self._prev
        if prev is None:
            prev = objects.decode(self.prev_data)
            if not self._fanned_out:
                self._prev = prev
        return prev

    def fanned_out(self) -> None:
        """Drop what only the fan-out shares: the framed chunks and the decoded dicts."""
        self._chunks = self._obj = self._prev = None
        self._fanned_out = True


class WatcherOverflow(Exception):
    """The client read too slowly and was cut off."""


# Deliver an event straight to the client's connection; False when it cannot take it now.
Deliver = Callable[[str, CachedEvent], bool]


@dataclass(eq=False)
class Watcher:
    """One client watch: a key prefix, an optional object filter and a queue of events.

    With `deliver` set, an event is written to the client as it is published, without waking
    the task serving the watch, as long as nothing is queued before it and that task is not
    in the middle of writing (`busy`), so events stay in order. Otherwise it is queued and
    the task sends it.
    """

    prefix: str
    matches: ObjectFilter | None
    queue: asyncio.Queue[tuple[str, CachedEvent] | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=20000)
    )
    closed: bool = False
    deliver: Deliver | None = None
    busy: bool = False
    after: int = 0  # the revision watched from: events at or before it are not sent

    def offer(self, event: CachedEvent) -> None:
        """Send or queue the client-visible form of `event` (ADDED/MODIFIED/DELETED), if any."""
        if self.closed or event.revision <= self.after or not event.key.startswith(self.prefix):
            return
        watch_type = self._translate(event)
        if watch_type is None:
            return
        deliver = self.deliver
        if deliver is not None and not self.busy and self.queue.empty():
            try:
                if deliver(watch_type, event):
                    return
            except Exception:  # noqa: BLE001 - one broken connection must not stop the fan-out
                self.deliver = None  # the serving task meets the error on its next write
        try:
            self.queue.put_nowait((watch_type, event))
        except asyncio.QueueFull:
            self.close()

    def _translate(self, event: CachedEvent) -> str | None:
        if self.matches is None:
            if event.type == "DELETE":
                return "DELETED"
            return "ADDED" if event.created else "MODIFIED"
        if event.type == "DELETE":
            return "DELETED" if self.matches(event.obj) else None
        now = self.matches(event.obj)
        before = event.prev is not None and not event.created and self.matches(event.prev)
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        if before:
            return "DELETED"
        return None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)


class WatchCache:
    """Fans out store events to client watches; keeps the last `capacity` events, and every
    object's current bytes (`objects`, which LISTs are served from)."""

    def __init__(self, store: Store, capacity: int = 20000) -> None:
        self._store = store
        self._events: deque[CachedEvent] = deque(maxlen=capacity)
        self._watchers: set[Watcher] = set()
        self._task: asyncio.Task[None] | None = None
        self.oldest = 0  # events after this revision are all in the buffer
        self.revision = 0  # the newest revision seen
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []  # (revision, reader)
        self.objects = ListCache()
        self.lists_served = 0  # LISTs answered from `objects`
        self.lists_fallen_back = 0  # consistent LISTs left to the store: the cache did not catch up

    async def start(self) -> None:
        await self._load()
        self._task = asyncio.create_task(self._run(), name="watch-cache")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for w in list(self._watchers):
            w.close()

    async def _run(self) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                async for ev in self._store.watch(objects.REGISTRY_PREFIX, self.revision):
                    self._publish(ev)
                    delay = RETRY_FIRST  # the watch works again
            except asyncio.CancelledError:
                raise
            except CompactedError:
                # History we had not seen is gone: every client watch must re-list.
                log.warning("watch cache fell behind compaction; restarting client watches")
                await self._restart()
            except Exception as e:  # noqa: BLE001 - a store down (etcd restarting) is retried
                # One line per try, not a traceback: a store down for minutes would flood the log.
                log.warning("store watch failed (%s); retrying from revision %d in %.1f s",
                            _brief(e), self.revision, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _restart(self) -> None:
        for w in list(self._watchers):
            w.close()
        self._watchers.clear()
        self._events.clear()
        await self._load()
        self._notify()

    async def _load(self) -> None:
        """Every object under /registry/ at one revision; the watch goes on from there."""
        page = await self._store.list(objects.REGISTRY_PREFIX)
        with_rv = objects.with_resource_version
        self.objects.load([(kv.key, with_rv(kv.value, kv.mod_revision)) for kv in page.items])
        self.revision = self.oldest = page.revision

    def _publish(self, ev: Event) -> None:
        if ev.revision <= self.revision:
            return
        data = objects.with_resource_version(ev.kv.value, ev.revision)
        prev = (
            objects.with_resource_version(ev.prev.value, ev.prev.mod_revision)
            if ev.prev is not None
            else None
        )
        created = ev.type == "PUT" and ev.kv.create_revision == ev.kv.mod_revision
        cached = CachedEvent(ev.revision, ev.type, ev.kv.key, data, created, prev)
        if len(self._events) == self._events.maxlen:
            self.oldest = self._events[0].revision
        self._events.append(cached)
        if ev.type == "DELETE":
            self.objects.delete(ev.kv.key)
        else:
            self.objects.put(ev.kv.key, data)
        self.revision = ev.revision
        for w in list(self._watchers):
            w.offer(cached)
            if w.closed:
                self._watchers.discard(w)
        cached.fanned_out()  # the ring buffer keeps just the data
        self._notify()

    def _notify(self) -> None:
        """Wake the readers waiting for a revision this cache has now seen (no task per event)."""
        if not self._waiting:
            return
        still: list[tuple[int, asyncio.Future[None]]] = []
        for revision, waiter in self._waiting:
            if waiter.done():
                continue
            if revision <= self.revision:
                waiter.set_result(None)
            else:
                still.append((revision, waiter))
        self._waiting = still

    async def wait_for(self, revision: int, timeout: float = 5.0) -> bool:
        """Wait until the cache has seen `revision` (used before serving a consistent read)."""
        if self.revision >= revision:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((revision, waiter))
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            return False
        return True

    async def wait_until_fresh(self, revision: int, timeout: float = BLOCK_TIMEOUT) -> None:
        """Return once the cache has seen `revision`, or raise Kubernetes' 504 "Too large resource
        version" after `timeout` (waitUntilFreshAndBlock): a read asked for a state this server
        has not reached, and may reach in a moment (another server wrote it)."""
        if not await self.wait_for(revision, timeout):
            raise st.too_large_resource_version(revision, self.revision, TOO_LARGE_RETRY_SECONDS)

    def too_old(self, revision: int) -> bool:
        return revision < self.oldest

    def subscribe(self, prefix: str, from_revision: int, matches: ObjectFilter | None) -> Watcher:
        """A watcher receiving every event after `from_revision` under `prefix`.

        The caller checks `too_old` first; replay and registration happen without
        yielding to the loop, so no event can fall between them. A `from_revision` the cache
        has not reached yet is a quiet watch until it passes, as in Kubernetes' cacher.
        """
        watcher = Watcher(prefix, matches, after=from_revision)
        if from_revision < self.revision:
            replay: list[CachedEvent] = []
            for ev in reversed(self._events):
                if ev.revision <= from_revision:
                    break
                replay.append(ev)
            for ev in reversed(replay):
                watcher.offer(ev)
        self._watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        watcher.closed = True
        self._watchers.discard(watcher)

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)
