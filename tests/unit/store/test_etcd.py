"""What only the etcd store promises: failover across endpoints, and watches that resume."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid

import pytest

from kubelite.store.etcd import EtcdStore
from kubelite.store.interface import UnavailableError

pytestmark = pytest.mark.etcd


def dead_endpoint() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


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
    store = EtcdStore([await proxy.start(), etcd_url], prefix=f"/test-{uuid.uuid4().hex}")
    await store.start()
    try:
        start = await store.current_revision()
        watch = store.watch("/r/", start)
        revisions = [await store.create(f"/r/{i}", b"x") for i in range(5)]
        async with asyncio.timeout(10):
            seen = [(await anext(watch)).revision for _ in range(3)]
            await proxy.cut()  # the watch stream (and the client's pooled connections) die
            revisions += [await store.create(f"/r/{i}", b"x") for i in range(5, 10)]
            seen += [(await anext(watch)).revision for _ in range(7)]
        assert seen == revisions
    finally:
        await store.close()
