"""Watches over WebSocket, as kube-apiserver serves them (WatchServer.HandleWS): a GET with
`watch=true` that asks to upgrade gets one text message per event holding the same JSON line
as the chunked stream. A browser authenticates with the bearer subprotocol and offers another
(e.g. `base64.binary.k8s.io`), which is echoed; a too-old resourceVersion is an ERROR event
with the 410 Status (tests/unit/apiserver/test_watch_websocket.py); a client that closes ends its watch on the server at once."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.helpers.cluster import Server, running_server
from tests.helpers.raw_api import raw_session

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("ws-watch") / "data") as srv:
        yield srv


@pytest.fixture
async def session(server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_session(server, connections=8) as s:
        yield s


def bearer_protocol(token: str) -> str:
    return "base64url.bearer.authorization.k8s.io." + base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")


async def _revision(session: aiohttp.ClientSession) -> int:
    async with session.get(CONFIGMAPS) as r:
        return int((await r.json())["metadata"]["resourceVersion"])


async def _create(session: aiohttp.ClientSession, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v" * 300}}
    async with session.post(CONFIGMAPS, json=body) as r:
        assert r.status == 201, await r.text()


async def _event(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    assert msg.data.endswith("\n") and msg.data.count("\n") == 1  # one event per message
    event: dict[str, Any] = json.loads(msg.data)
    return event


async def _watchers(session: aiohttp.ClientSession) -> float:
    async with session.get("/metrics") as r:
        for line in (await r.text()).splitlines():
            if line.startswith("apiserver_registered_watchers "):
                return float(line.split()[1])
    raise AssertionError("no apiserver_registered_watchers")


async def test_events_arrive_as_one_text_message_each(session: aiohttp.ClientSession) -> None:
    rv = await _revision(session)
    async with session.ws_connect(f"{CONFIGMAPS}?watch=true&resourceVersion={rv}") as ws:
        await _create(session, "ws-one")
        await _create(session, "ws-two")
        first, second = await _event(ws), await _event(ws)
        assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "ws-one")
        assert (second["type"], second["object"]["metadata"]["name"]) == ("ADDED", "ws-two")
        async with session.delete(f"{CONFIGMAPS}/ws-one") as r:
            assert r.status == 200
        deleted = await _event(ws)
        assert (deleted["type"], deleted["object"]["metadata"]["name"]) == ("DELETED", "ws-one")


async def test_the_initial_list_of_resource_version_0_comes_as_added_messages(session: aiohttp.ClientSession) -> None:
    for i in range(3):
        await _create(session, f"ws-initial-{i}")
    async with session.ws_connect(f"{CONFIGMAPS}?watch=true&resourceVersion=0&labelSelector=") as ws:
        names = set()
        while not {f"ws-initial-{i}" for i in range(3)} <= names:
            event = await _event(ws)
            assert event["type"] == "ADDED"
            names.add(event["object"]["metadata"]["name"])


async def test_a_browser_authenticates_with_the_bearer_subprotocol_and_gets_the_other_echoed(
    server: Server, session: aiohttp.ClientSession
) -> None:
    rv = await _revision(session)
    protocols = ("base64.binary.k8s.io", bearer_protocol(server.token()))
    async with aiohttp.ClientSession(server.url, connector=aiohttp.TCPConnector(ssl=False)) as anonymous:
        async with anonymous.ws_connect(f"{CONFIGMAPS}?watch=true&resourceVersion={rv}", protocols=protocols) as ws:
            assert ws.protocol == "base64.binary.k8s.io"  # never the token
            await _create(session, "ws-browser")
            event = await _event(ws)
            assert event["object"]["metadata"]["name"] == "ws-browser"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await anonymous.ws_connect(f"{CONFIGMAPS}?watch=true", protocols=("base64.binary.k8s.io",))
        assert refused.value.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await anonymous.ws_connect(f"{CONFIGMAPS}?watch=true", protocols=(bearer_protocol("not-a-token"),))
        assert refused.value.status == 401


async def test_timeout_seconds_ends_it_as_over_http(session: aiohttp.ClientSession) -> None:
    rv = await _revision(session)
    async with session.ws_connect(f"{CONFIGMAPS}?watch=true&resourceVersion={rv}&timeoutSeconds=1") as ws:
        closing = await asyncio.wait_for(ws.receive(), 10)
        while closing.type is aiohttp.WSMsgType.TEXT:  # (a controller may write kube-root-ca.crt meanwhile)
            closing = await asyncio.wait_for(ws.receive(), 10)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)  # the server ends it


async def test_a_client_that_closes_ends_its_watch_on_the_server(session: aiohttp.ClientSession) -> None:
    before = await _watchers(session)
    sockets = [await session.ws_connect(f"{CONFIGMAPS}?watch=true") for _ in range(5)]
    await _create(session, "ws-close-probe")
    for ws in sockets:  # each has its initial ADDED events, so each is subscribed
        await _event(ws)
    assert await _watchers(session) >= before + 5
    for ws in sockets:
        await ws.close()
    for _ in range(300):  # polls: a loaded machine only makes it take longer
        if await _watchers(session) <= before:
            break
        await asyncio.sleep(0.1)
    assert await _watchers(session) <= before
