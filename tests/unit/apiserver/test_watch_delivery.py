"""Watch events reach clients straight from the fan-out, in order, and queue when they must."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
import pytest

from kubelite.apiserver.server import ApiServer, ServerConfig
from kubelite.apiserver.watchcache import CachedEvent, WatchCache, Watcher
from kubelite.store.sqlite import SqliteStore

PREFIX = "/registry/core/configmaps/default/"


def event(revision: int, name: str = "a") -> CachedEvent:
    data = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"resourceVersion":"%d","name":"%s"}}' % (
        revision, name.encode())
    return CachedEvent(revision, "PUT", PREFIX + name, data, True, None)


def test_an_event_chunk_is_framed_once_and_shared() -> None:
    ev = event(7)
    chunk = ev.chunk("ADDED")
    size, _, rest = chunk.partition(b"\r\n")
    line = ev.frame("ADDED")
    assert int(size, 16) == len(line) and rest == line + b"\r\n"
    assert msgspec.json.decode(line) == {"type": "ADDED", "object": msgspec.json.decode(ev.data)}
    assert ev.chunk("ADDED") is chunk  # the same bytes for every watcher
    assert ev.chunk("MODIFIED") != chunk


async def test_events_go_straight_out_until_the_connection_refuses_then_queue_in_order() -> None:
    sent: list[int] = []
    accept = True

    def deliver(watch_type: str, ev: CachedEvent) -> bool:
        if accept:
            sent.append(ev.revision)
        return accept

    w = Watcher(PREFIX, None, deliver=deliver)
    w.offer(event(1))
    w.offer(event(2))
    assert sent == [1, 2] and w.queue.empty()
    accept = False
    w.offer(event(3))
    accept = True
    w.offer(event(4))  # 3 is still queued: 4 must not overtake it
    assert sent == [1, 2]
    assert [w.queue.get_nowait()[1].revision for _ in range(2)] == [3, 4]
    w.busy = True  # the serving task is writing what it took from the queue
    w.offer(event(5))
    assert sent == [1, 2] and w.queue.get_nowait()[1].revision == 5
    w.busy = False
    w.offer(event(6, "b"))
    assert sent == [1, 2, 6]


async def test_a_connection_that_fails_to_write_gets_its_events_queued() -> None:
    def broken(watch_type: str, ev: CachedEvent) -> bool:
        raise RuntimeError("transport gone")

    w = Watcher(PREFIX, None, deliver=broken)
    w.offer(event(1))
    w.offer(event(2))
    assert w.deliver is None
    assert [w.queue.get_nowait()[1].revision for _ in range(2)] == [1, 2]


async def test_a_closed_watcher_takes_nothing_more() -> None:
    delivered: list[int] = []
    w = Watcher(PREFIX, None, deliver=lambda t, ev: delivered.append(ev.revision) is None)
    w.close()
    w.offer(event(1))
    assert delivered == [] and w.queue.get_nowait() is None


async def test_wait_for_wakes_when_the_revision_arrives_and_gives_up_after_its_timeout(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "state.db"))
    await store.start()
    cache = WatchCache(store)
    await cache.start()
    try:
        assert await cache.wait_for(cache.revision)
        assert not await cache.wait_for(cache.revision + 5, timeout=0.05)
        waiting = asyncio.create_task(cache.wait_for(cache.revision + 1))
        await asyncio.sleep(0)
        await store.create(PREFIX + "x", b'{"metadata":{}}')
        assert await asyncio.wait_for(waiting, 5)
    finally:
        await cache.stop()
        await store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    srv = ApiServer(ServerConfig(data_dir=tmp_path, listen=f"127.0.0.1:{_free_port()}", tls=False,
                                 controllers=False, scheduler=False))
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def _read_events(resp: aiohttp.ClientResponse, n: int) -> list[dict]:
    out: list[dict] = []
    async with asyncio.timeout(20):
        while len(out) < n:
            line = await resp.content.readline()
            assert line, "the watch ended early"
            out.append(msgspec.json.decode(line))
    return out


async def test_many_watchers_each_see_every_create_once_and_in_order(server: ApiServer) -> None:
    base = server.url + "/api/v1/namespaces/default/configmaps"
    async with aiohttp.ClientSession() as s:
        async with s.get(base) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        watches = [await s.get(f"{base}?watch=true&resourceVersion={rv}") for _ in range(20)]
        try:
            async def create(i: int) -> None:
                body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}
                async with s.post(base, json=body) as r:
                    assert r.status == 201, await r.text()

            await asyncio.gather(*(create(i) for i in range(60)))
            seen = [await _read_events(w, 60) for w in watches]
        finally:
            for w in watches:
                w.close()
    first = [(e["type"], e["object"]["metadata"]["name"]) for e in seen[0]]
    assert sorted(name for _, name in first) == sorted(f"c{i}" for i in range(60))
    revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in seen[0]]
    assert revisions == sorted(revisions) and len(set(revisions)) == 60
    for other in seen[1:]:
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in other] == first


async def test_a_watch_from_now_gets_the_initial_list_then_live_events(server: ApiServer) -> None:
    base = server.url + "/api/v1/namespaces/default/configmaps"
    async with aiohttp.ClientSession() as s:
        for i in range(3):
            async with s.post(base, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"old{i}"}}) as r:
                assert r.status == 201
        async with s.get(f"{base}?watch=true") as w:
            initial = await _read_events(w, 3)
            async with s.put(f"{base}/old1", json={"apiVersion": "v1", "kind": "ConfigMap",
                                                   "metadata": {"name": "old1"}, "data": {"a": "b"}}) as r:
                assert r.status == 200
            async with s.delete(f"{base}/old2") as r:
                assert r.status == 200
            live = await _read_events(w, 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in initial] == [
        ("ADDED", "old0"), ("ADDED", "old1"), ("ADDED", "old2")]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in live] == [("MODIFIED", "old1"), ("DELETED", "old2")]
    assert live[0]["object"]["data"] == {"a": "b"}


async def test_a_watch_whose_client_left_is_dropped_without_any_event(server: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubelite.apiserver import watch

    monkeypatch.setattr(watch, "LIVENESS_CHECK", 0.1)
    assert server.cache is not None
    before = server.cache.watcher_count  # the server's own (namespace lifecycle)
    async with aiohttp.ClientSession() as s:
        resp = await s.get(server.url + "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1")
        assert resp.status == 200
        async with asyncio.timeout(5):
            while server.cache.watcher_count == before:
                await asyncio.sleep(0.02)
        resp.close()  # the client goes away; nothing is ever written to it again
    async with asyncio.timeout(5):
        while server.cache.watcher_count > before:
            await asyncio.sleep(0.05)


class _FakeTransport:
    """What the direct writer needs of a connection: writes, a buffer size, closing."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.buffered = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.closing


async def test_events_published_in_one_turn_leave_in_one_write_and_in_order() -> None:
    from kubelite.apiserver.watch import DIRECT_WRITE_LIMIT, _DirectWriter

    transport = _FakeTransport()
    request = type("Request", (), {"transport": transport})()
    writer = _DirectWriter(request)  # type: ignore[arg-type]
    events = [event(n) for n in range(1, 6)]
    assert all(writer("ADDED", ev) for ev in events[:3])
    assert transport.writes == []  # held until the loop turns
    await asyncio.sleep(0)
    assert transport.writes == [b"".join(ev.chunk("ADDED") for ev in events[:3])]
    # a full connection refuses, but first writes what it holds, so queued events come after
    assert writer("ADDED", events[3])
    transport.buffered = DIRECT_WRITE_LIMIT + 1
    assert not writer("ADDED", events[4])
    assert transport.writes[-1] == events[3].chunk("ADDED") and writer.pending == []
    await asyncio.sleep(0)
    assert len(transport.writes) == 2
    transport.closing = True
    assert not writer("ADDED", events[4])


async def test_the_local_socket_serves_the_same_api_to_this_host_only(server: ApiServer) -> None:
    from kubelite.client import ApiClient

    assert server.socket_path is not None and server.socket_path.stat().st_mode & 0o777 == 0o600
    async with ApiClient(f"unix://{server.socket_path}") as client:
        await client.create("configmaps", {"metadata": {"name": "local"}, "data": {"a": "b"}}, "default")
        listed = await client.list("configmaps", "default", raw=True)
    assert [cm["metadata"]["name"] for cm in listed.items] == ["local"]


async def test_a_watcher_skips_events_at_or_before_the_revision_it_watches_from() -> None:
    delivered: list[int] = []
    w = Watcher(PREFIX, None, deliver=lambda t, ev: delivered.append(ev.revision) is None, after=5)
    for revision in (4, 5, 6, 7):
        w.offer(event(revision))
    assert delivered == [6, 7]


async def test_a_read_from_a_revision_not_reached_waits_then_answers_too_large(tmp_path: Path) -> None:
    from kubelite.api import status as st

    store = SqliteStore(str(tmp_path / "state.db"))
    await store.start()
    cache = WatchCache(store)
    await cache.start()
    try:
        current = cache.revision
        with pytest.raises(st.Timeout) as caught:
            await cache.wait_until_fresh(current + 100, timeout=0.05)
        status = caught.value.status()
        assert status["code"] == 504 and status["reason"] == "Timeout"
        assert status["message"] == f"Timeout: Too large resource version: {current + 100}, current: {current}"
        assert status["details"] == {
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1}
        arriving = asyncio.create_task(cache.wait_until_fresh(current + 1))
        await asyncio.sleep(0)
        await store.create(PREFIX + "y", b'{"metadata":{}}')
        await asyncio.wait_for(arriving, 5)  # answered once the revision is there, not after the wait
    finally:
        await cache.stop()
        await store.close()
