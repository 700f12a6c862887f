"""Serving `?watch=true`: newline-delimited watch events in a chunked response."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from aiohttp import web

from kubelite.api import status as st
from kubelite.api.registry import Kind
from kubelite.api.tables import table
from kubelite.apiserver import objects
from kubelite.apiserver.rest import ObjectStore
from kubelite.apiserver.watchcache import WatchCache

BOOKMARK_INTERVAL = 30.0


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
) -> web.StreamResponse:
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
        try:
            start = int(resource_version)
        except ValueError:
            raise st.BadRequest(f"invalid resourceVersion {resource_version!r}") from None
        if cache.too_old(start):
            raise st.Gone(f"too old resource version: {start} ({cache.oldest})")
    watcher = cache.subscribe(prefix, start, matches)
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache, private"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    first_table = [True]

    def frame(watch_type: str, data: bytes) -> bytes:
        if not as_table:
            return b'{"type":"%s","object":%s}\n' % (watch_type.encode(), data)
        obj = objects.decode(data)
        t = table(kind, [obj], dt.datetime.now(dt.UTC), "Object" if False else "PartialObjectMetadata")
        if not first_table[0]:
            t["columnDefinitions"] = []
        first_table[0] = False
        t["metadata"] = {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")}
        return b'{"type":"%s","object":%s}\n' % (watch_type.encode(), objects.encode(t))

    loop = asyncio.get_running_loop()
    deadline = loop.time() + (timeout if timeout else 1800 * (1 + random.random()))
    try:
        for data in initial:
            await response.write(frame("ADDED", data))
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            wait = min(remaining, BOOKMARK_INTERVAL) if bookmarks else remaining
            try:
                if watcher.queue.empty():
                    async with asyncio.timeout(wait):  # no task per event, unlike wait_for
                        item = await watcher.queue.get()
                else:
                    item = watcher.queue.get_nowait()
            except TimeoutError:
                if bookmarks and loop.time() < deadline:
                    await response.write(_bookmark(kind, cache.revision))
                continue
            if item is None:
                break
            watch_type, event = item
            chunk = [frame(watch_type, event.data)]
            while not watcher.queue.empty():
                nxt = watcher.queue.get_nowait()
                if nxt is None:
                    break
                chunk.append(frame(nxt[0], nxt[1].data))
            await response.write(b"".join(chunk))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        cache.unsubscribe(watcher)
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
    return response


def _bookmark(kind: Kind, revision: int) -> bytes:
    obj = {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": {"resourceVersion": str(revision)}}
    return b'{"type":"BOOKMARK","object":%s}\n' % objects.encode(obj)
