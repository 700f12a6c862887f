"""WebSocket watches in-process: frames of every length class decode in aiohttp's own
client (the server builds them itself for the direct path), and a resourceVersion the cache
no longer holds is an ERROR event with the 410 Status, as kube-apiserver's cacher sends it."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from kubelite.apiserver.server import ApiServer, ServerConfig
from kubelite.apiserver.watchcache import text_frame

BASE = "/api/v1/namespaces/default/configmaps"


def test_text_frame_lengths() -> None:
    assert text_frame(b"x" * 125)[:2] == bytes((0x81, 125))
    assert text_frame(b"x" * 126)[:4] == bytes((0x81, 126, 0, 126))
    assert text_frame(b"x" * 65536)[:10] == bytes((0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0))


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


async def test_events_of_every_size_arrive_whole(server: ApiServer) -> None:
    async with aiohttp.ClientSession(server.url) as s:
        async with s.get(BASE) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]
        async with s.ws_connect(f"{BASE}?watch=true&resourceVersion={rv}") as ws:
            sizes = [1, 200, 70_000, 300_000]
            for i, size in enumerate(sizes):
                body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"k": "v" * size}}
                async with s.post(BASE, json=body) as r:
                    assert r.status == 201
            for i, size in enumerate(sizes):
                msg = await asyncio.wait_for(ws.receive(), 10)
                assert msg.type is aiohttp.WSMsgType.TEXT
                event = json.loads(msg.data)
                assert event["object"]["metadata"]["name"] == f"c{i}" and len(event["object"]["data"]["k"]) == size


async def test_a_too_old_resource_version_is_an_error_event_with_410(server: ApiServer) -> None:
    assert server.cache is not None
    async with aiohttp.ClientSession(server.url) as s:
        for i in range(3):
            async with s.post(BASE, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"o{i}"}}) as r:
                assert r.status == 201
        server.cache.oldest = server.cache.revision  # as if the older events had left the ring
        async with s.ws_connect(f"{BASE}?watch=true&resourceVersion=1") as ws:
            msg = await asyncio.wait_for(ws.receive(), 10)
            event = json.loads(msg.data)
            assert event["type"] == "ERROR"
            assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
            closing = await asyncio.wait_for(ws.receive(), 10)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        async with s.get(f"{BASE}?watch=true&resourceVersion=1") as r:  # plain HTTP: the 410 itself
            assert r.status == 410
