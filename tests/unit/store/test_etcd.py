"""What only the etcd store promises: failover across endpoints, watches that resume, TLS."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from kubelite.store import open_store
from kubelite.store.etcd import EtcdStore
from kubelite.store.etcd_compactor import Compactor
from kubelite.store.etcd_tls import EtcdTLS
from kubelite.store.interface import CompactedError, Event, KeyValue, UnavailableError
from tests.helpers.etcd import make_certs, start_etcd, start_etcd_cluster

pytestmark = pytest.mark.etcd


def dead_endpoint() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


async def writes_seen_across(
    watcher: EtcdStore, writer: EtcdStore, breaking: Callable[[], Awaitable[None]], *, before: int, after: int
) -> tuple[list[int], list[int]]:
    """Creates `before` keys under /w/, reads some of their events from a watch, runs
    `breaking`, creates `after` more: (the writes' revisions, the revisions the watch saw)."""
    watch = watcher.watch("/w/", await watcher.current_revision())
    revisions = [await writer.create(f"/w/{i}", b"x") for i in range(before)]
    async with asyncio.timeout(30):
        seen = [(await anext(watch)).revision for _ in range(before - 2)]
        await breaking()
        revisions += [await writer.create(f"/w/{i}", b"x") for i in range(before, before + after)]
        seen += [(await anext(watch)).revision for _ in range(after + 2)]
    return revisions, seen


class Proxy:
    """A TCP relay to etcd that the test can cut, connections and all."""

    def __init__(self, target: str) -> None:
        host, port = target.split("://", 1)[1].rsplit(":", 1)
        self.target = (host, int(port))
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_a_dead_endpoint_is_skipped(etcd_url: str) -> None:
    store = EtcdStore([dead_endpoint(), etcd_url], prefix=f"/test-{uuid.uuid4().hex}")
    await store.start()
    try:
        rev = await store.create("/a", b"x")
        assert (await store.get("/a")) is not None
        assert await store.current_revision() == rev
    finally:
        await store.close()


async def test_no_reachable_endpoint_is_unavailable() -> None:
    store = EtcdStore([dead_endpoint(), dead_endpoint()])
    with pytest.raises(UnavailableError, match="no etcd endpoint answered"):
        await store.start()


async def test_a_broken_watch_resumes_on_another_endpoint_without_gaps(etcd_url: str) -> None:
    proxy = Proxy(etcd_url)
    prefix = f"/test-{uuid.uuid4().hex}"
    store = EtcdStore([await proxy.start(), etcd_url], prefix=prefix)
    # Writes go straight to etcd: one in flight on the cut connection could not be retried
    # (it may have been applied), and this test is about the watch.
    writer = EtcdStore([etcd_url], prefix=prefix)
    await store.start()
    await writer.start()
    try:
        # the watch stream (and the client's connection) die between writes
        revisions, seen = await writes_seen_across(store, writer, proxy.cut, before=5, after=5)
        assert seen == revisions
    finally:
        await store.close()
        await writer.close()


async def test_a_write_cut_off_midway_is_reported_not_repeated(etcd_url: str) -> None:
    proxy = Proxy(etcd_url)
    store = EtcdStore([await proxy.start(), etcd_url], prefix=f"/test-{uuid.uuid4().hex}")
    await store.start()
    try:
        await store.create("/before", b"x")
        await proxy.cut()
        outcomes = []
        for i in range(3):  # the first may have gone out on the dead connection
            try:
                await store.create(f"/after-{i}", b"x")
                outcomes.append("created")
            except UnavailableError as e:
                assert "may have been applied" in str(e)
                outcomes.append("unknown")
        assert outcomes[-1] == "created"  # then the next member takes the writes
        listed = {kv.key for kv in (await store.list("/after-")).items}
        assert {f"/after-{i}" for i, outcome in enumerate(outcomes) if outcome == "created"} <= listed
    finally:
        await store.close()


async def test_tls_with_a_client_certificate(tmp_path: Path) -> None:
    certs = make_certs(str(tmp_path / "pki"))
    url, stop = start_etcd(str(tmp_path), certs)
    try:
        assert url.startswith("https://")
        tls = EtcdTLS(certs.ca, certs.client_cert, certs.client_key)
        store = open_store(url, str(tmp_path), tls=tls)
        await store.start()
        try:
            rev = await store.create("/a", b"x")
            assert (await store.get("/a")) == KeyValue("/a", b"x", rev, rev)
            [event] = [e async for e in _first(store.watch("/", rev - 1))]
            assert event.revision == rev
        finally:
            await store.close()
        # without the client certificate etcd refuses the connection
        anonymous = open_store(url, str(tmp_path), tls=EtcdTLS(certs.ca))
        with pytest.raises(UnavailableError):
            await anonymous.start()
    finally:
        stop()


async def _first(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    async with asyncio.timeout(10):
        yield await anext(events)
    await events.aclose()  # type: ignore[attr-defined]


def test_tls_files_need_an_https_endpoint(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("not read yet")
    with pytest.raises(ValueError, match="no endpoint is https"):
        open_store("etcd://127.0.0.1:2379", "/ignored", tls=EtcdTLS(str(tmp_path / "ca.crt")))
    with pytest.raises(ValueError, match="are for etcd"):
        open_store("", "/ignored", tls=EtcdTLS(str(tmp_path / "ca.crt")))
    with pytest.raises(ValueError, match="--datastore-cafile /nonexistent"):
        open_store("https://127.0.0.1:2379", "/ignored", tls=EtcdTLS("/nonexistent"))
    with pytest.raises(ValueError, match="both --datastore-certfile and --datastore-keyfile"):
        open_store("https://127.0.0.1:2379", "/ignored", tls=EtcdTLS(cert_file=str(tmp_path / "ca.crt")))


async def test_scheduled_compaction_is_done_by_one_server_and_keeps_an_interval_of_history(etcd_url: str) -> None:
    prefix = f"/test-{uuid.uuid4().hex}"
    one = EtcdStore([etcd_url], prefix=prefix, compact_interval=0)
    two = EtcdStore([etcd_url], prefix=prefix, compact_interval=0)
    await one.start()
    await two.start()
    try:
        first, second = Compactor(one), Compactor(two)
        early = await one.create("/a", b"1")
        await first.tick()  # claims the key and notes the revision; nothing to compact yet
        await second.tick()  # refused: it learns the key's version
        kept = await one.update("/a", b"2", early)
        await first.tick()  # compacts to the revision noted one interval ago
        with pytest.raises(CompactedError):
            await one.get("/a", early)
        assert (await one.get("/a", kept)) is not None  # written after that: still there
        await second.tick()  # refused again: the first server compacted this interval
        assert (await two.get("/a", kept)) is not None
    finally:
        await one.close()
        await two.close()


async def test_a_member_stopping_leaves_reads_writes_and_watches_working(tmp_path: Path) -> None:
    urls, stops = start_etcd_cluster(str(tmp_path))
    try:
        store = EtcdStore(urls, prefix="/t", compact_interval=0)
        await store.start()
        try:
            async def stop_first() -> None:  # the member every call and the watch went to
                stops[0]()

            revisions, seen = await writes_seen_across(store, store, stop_first, before=3, after=3)
            assert seen == revisions
            assert [kv.key for kv in (await store.list("/w/")).items] == [f"/w/{i}" for i in range(6)]
        finally:
            await store.close()
    finally:
        for stop in stops:
            stop()
