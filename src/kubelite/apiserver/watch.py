"""Serving `?watch=true`: newline-delimited watch events in a chunked response, or, when the
GET asks to upgrade to a WebSocket, one text message per event with the same JSON (as
kube-apiserver's WatchServer.HandleWS: a browser holds any number of these on one host,
where it opens at most six HTTP/1.1 connections)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from kubelite.api import registry
from kubelite.api import status as st
from kubelite.api.registry import Kind
from kubelite.api.tables import table
from kubelite.apiserver import objects
from kubelite.apiserver.auth import WEBSOCKET_BEARER_PREFIX
from kubelite.apiserver.query import parse_resource_version
from kubelite.apiserver.rest import ObjectStore
from kubelite.apiserver.watchcache import CachedEvent, WatchCache, Watcher

BOOKMARK_INTERVAL = 30.0
LIVENESS_CHECK = 15.0  # seconds between checks that an idle watch's client is still there
INITIAL_BATCH = 500  # initial ADDED events per write
DIRECT_WRITE_LIMIT = 256 * 1024  # bytes a connection may hold unsent before events queue
WS_MAX_RECEIVE = 4096  # a watch client sends nothing but control frames
WS_CLOSE_TIMEOUT = 2.0  # seconds to wait for the client's close frame when the server ends a watch

Write = Callable[[list[bytes]], Awaitable[None]]  # sends event lines to the client, in order


def is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def websocket_protocol(request: web.Request) -> tuple[str, ...]:
    """The subprotocol echoed back: the first one offered that is not the bearer token (the
    browser fails a handshake whose answer names none of those it offered). kube-apiserver's
    watch echoes the one left after its authenticator removed the token (a dashboard offers
    e.g. `base64.binary.k8s.io`); the framing is the same JSON text whatever it is."""
    for offered in ",".join(request.headers.getall("Sec-WebSocket-Protocol", [])).split(","):
        offered = offered.strip()
        if offered and not offered.startswith(WEBSOCKET_BEARER_PREFIX):
            return (offered,)
    return ()


def _kind_withdrawn(kind: Kind) -> bool:
    """Whether a custom kind is no longer served as it was (its CRD changed or went): the
    watch ends, as Kubernetes ends watches of a CRD's old storage, and the client watches
    again with what is served now."""
    if kind.custom is None:
        return False
    return registry.by_resource(kind.group, kind.version, kind.plural) is not kind


async def serve_watch(
    request: web.Request,
    kind: Kind,
    namespace: str | None,
    *,
    cache: WatchCache,
    objects_store: ObjectStore,
    matches: Callable[[dict[str, Any]], bool] | None,
    resource_version: str,
    as_table: bool,
    timeout: float | None,
    bookmarks: bool,
    exact_name: str | None,
    convert: Callable[[bytes], bytes] | None = None,
    served: Kind | None = None,
) -> web.StreamResponse:
    """Watch `kind`; with `convert`, each object is re-encoded as the `served` kind (a view)."""
    prefix = objects.collection_prefix(kind, namespace)
    if exact_name is not None:
        prefix = objects.object_key(kind, namespace, exact_name) if (namespace or not kind.namespaced) else prefix
        name_filter = exact_name

        def match_name(obj: dict[str, Any], inner: Callable[[dict[str, Any]], bool] | None = matches) -> bool:
            if obj.get("metadata", {}).get("name") != name_filter:
                return False
            return inner(obj) if inner else True

        matches = match_name
    initial: list[bytes] = []
    if resource_version in ("", "0"):
        page = await objects_store.list(kind, namespace, matches=matches)
        initial = page.items
        start = page.revision
        await cache.wait_for(start)
    else:
        start = parse_resource_version(resource_version)
        if cache.too_old(start):
            gone = st.Gone(f"too old resource version: {start} ({cache.oldest})")
            if is_websocket(request):  # as kube-apiserver's cacher: an ERROR event, then the end
                return await _websocket_error(request, gone)
            raise gone
    websocket = is_websocket(request)
    watcher = cache.subscribe(prefix, start, matches)
    response: web.StreamResponse
    reader: asyncio.Task[None] | None = None
    if websocket:
        ws = web.WebSocketResponse(protocols=websocket_protocol(request), compress=False,
                                   max_msg_size=WS_MAX_RECEIVE, timeout=WS_CLOSE_TIMEOUT)
        try:
            await ws.prepare(request)
        except BaseException:
            cache.unsubscribe(watcher)
            raise
        response = ws
        reader = asyncio.create_task(_until_closed(ws, watcher))

        async def write(lines: list[bytes]) -> None:
            for line in lines:
                await ws.send_frame(line, WSMsgType.TEXT)
    else:
        response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        await response.prepare(request)

        async def write(lines: list[bytes]) -> None:
            await response.write(b"".join(lines))
    first_table = [True]

    def frame(watch_type: str, data: bytes) -> bytes:
        obj = objects.decode(data)
        t = table(kind, [obj], dt.datetime.now(dt.UTC), "PartialObjectMetadata")
        if not first_table[0]:
            t["columnDefinitions"] = []
        first_table[0] = False
        t["metadata"] = {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")}
        return b'{"type":"%s","object":%s}\n' % (watch_type.encode(), objects.encode(t))

    def converted_frame(watch_type: str, data: bytes) -> bytes:
        assert convert is not None
        return b'{"type":"%s","object":%s}\n' % (watch_type.encode(), convert(data))

    per_object = frame if as_table else converted_frame if convert is not None else None

    def event_frame(watch_type: str, event: CachedEvent) -> bytes:
        return per_object(watch_type, event.data) if per_object else event.frame(watch_type)

    loop = asyncio.get_running_loop()
    direct: _DirectWriter | None = None
    deadline = loop.time() + (timeout if timeout else 1800 * (1 + random.random()))
    try:
        if initial:
            await _write_initial(write, initial, per_object)
        if per_object is None:
            direct = _DirectWriter(request, websocket)
            watcher.deliver = direct
        transport = request.transport
        next_bookmark = loop.time() + BOOKMARK_INTERVAL
        while True:
            now = loop.time()
            if now >= deadline:
                break
            # Wake now and then even when nothing happens: a client that went away is noticed
            # (aiohttp does not cancel the handler), and bookmarks are due.
            wait = min(deadline, next_bookmark if bookmarks else deadline, now + LIVENESS_CHECK) - now
            try:
                if watcher.queue.empty():
                    async with asyncio.timeout(wait):  # no task per event, unlike wait_for
                        item = await watcher.queue.get()
                else:
                    item = watcher.queue.get_nowait()
            except TimeoutError:
                if transport is None or transport.is_closing() or _kind_withdrawn(kind):
                    break
                if bookmarks and next_bookmark <= loop.time() < deadline and cache.revision >= start:
                    # (a watch from a revision not reached yet gets no bookmark before it)
                    next_bookmark = loop.time() + BOOKMARK_INTERVAL
                    if direct is not None:
                        direct.flush()
                    await write([_bookmark(served or kind, cache.revision)])
                continue
            if item is None:
                break
            watcher.busy = True  # events published while we write must queue behind these
            chunk = [event_frame(*item)]
            end = False
            while not watcher.queue.empty():
                nxt = watcher.queue.get_nowait()
                if nxt is None:
                    end = True
                    break
                chunk.append(event_frame(*nxt))
            if direct is not None:
                direct.flush()
            await write(chunk)
            watcher.busy = False
            if end:
                break
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        cache.unsubscribe(watcher)
        if direct is not None:
            direct.flush()
    if reader is not None:
        assert isinstance(response, web.WebSocketResponse)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await response.close()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        return response
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response


async def _until_closed(ws: web.WebSocketResponse, watcher: Watcher) -> None:
    """Read (and drop) what the client sends until it closes, then end the watch at once
    (pings are answered as they are read)."""
    try:
        async for _ in ws:
            pass
    finally:
        watcher.close()


async def _websocket_error(request: web.Request, error: st.ApiError) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(protocols=websocket_protocol(request), compress=False, max_msg_size=WS_MAX_RECEIVE,
                               timeout=WS_CLOSE_TIMEOUT)
    await ws.prepare(request)
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await ws.send_frame(b'{"type":"ERROR","object":%s}\n' % objects.encode(error.status()), WSMsgType.TEXT)
        await ws.close()
    return ws


async def _write_initial(write: Write, items: list[bytes], table_frame: Callable[[str, bytes], bytes] | None) -> None:
    """The ADDED events of the initial list, a few hundred per write."""
    for start in range(0, len(items), INITIAL_BATCH):
        batch = items[start : start + INITIAL_BATCH]
        if table_frame is not None:
            await write([table_frame("ADDED", data) for data in batch])
        else:
            await write([b'{"type":"ADDED","object":%s}\n' % data for data in batch])


class _DirectWriter:
    """Write events' shared, pre-framed chunks straight to the connection, coalesced.

    The response is already prepared (headers sent, chunked encoding on), so chunks written
    to the transport interleave correctly with the response's own writes. Events published
    in one turn of the event loop (a store commit publishes a batch) leave in one write: one
    system call (and one TLS record) per watcher per batch instead of per event. When the
    client reads slowly and the connection's buffer fills, it refuses, and the event is queued
    for the serving task, which waits for the buffer to drain; what it holds is written first,
    so events stay in order.
    """

    def __init__(self, request: web.Request, websocket: bool = False) -> None:
        self.transport = request.transport
        self.loop = asyncio.get_running_loop()
        self.pending: list[bytes] = []
        # Each event pre-framed once for all watchers: a chunk, or a WebSocket text message.
        self.framed = CachedEvent.message if websocket else CachedEvent.chunk

    def __call__(self, watch_type: str, event: CachedEvent) -> bool:
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > DIRECT_WRITE_LIMIT:
            self.flush()
            return False
        if not self.pending:
            self.loop.call_soon(self.flush)
        self.pending.append(self.framed(event, watch_type))
        return True

    def flush(self) -> None:
        """Write what is held (before the serving task writes anything itself)."""
        if not self.pending:
            return
        chunk = b"".join(self.pending)
        self.pending.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(chunk)


def _bookmark(kind: Kind, revision: int) -> bytes:
    obj = {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": {"resourceVersion": str(revision)}}
    return b'{"type":"BOOKMARK","object":%s}\n' % objects.encode(obj)
