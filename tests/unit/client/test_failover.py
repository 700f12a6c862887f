"""ApiClient with several servers: a server it cannot connect to is failed over, and a switch
ends the watches on the old server so informers resume on the new one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

from kubelite.client import ApiClient, Informer
from kubelite.client.servers import ServerPool
from tests.helpers.wait import eventually
from tests.unit.client.fake_apiserver import FakeApiServer


@dataclass
class TwoServers:
    """One fake cluster served at two addresses, and an address nobody listens on."""

    fake: FakeApiServer
    a: str
    b: str
    dead: str

    def ports_asked(self) -> list[int]:
        return [r.url.port or 0 for r in self.fake.requests]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def _site(fake: FakeApiServer, ready: bool = True) -> tuple[web.AppRunner, str]:
    app = fake.app()

    async def readyz(_request: web.Request) -> web.Response:
        return web.Response(text="ok" if ready else "no", status=200 if ready else 500)

    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]


@pytest.fixture
async def two() -> AsyncIterator[TwoServers]:
    fake = FakeApiServer()
    (runner_a, a), (runner_b, b) = await _site(fake), await _site(fake, ready=False)
    dead_runner, dead = await _site(fake)
    await dead_runner.cleanup()  # its port is free again: connections are refused
    try:
        yield TwoServers(fake, a, b, dead)
    finally:
        fake.close_watches.set()
        await runner_a.cleanup()
        await runner_b.cleanup()


def pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def test_a_refused_connection_goes_to_the_next_server(two: TwoServers) -> None:
    pool = ServerPool(two.dead)
    pool.set_servers([two.a])
    async with ApiClient(two.dead, servers=pool) as client:
        created = await client.create("pods", pod("p1"), raw=True)
        assert created["metadata"]["name"] == "p1"
        assert client.server == two.a
        await client.get("pods", "p1", "default", raw=True)
    assert set(two.ports_asked()) == {port_of(two.a)}


async def test_a_lone_server_that_refuses_raises_as_before(two: TwoServers) -> None:
    async with ApiClient(two.dead) as client:
        with pytest.raises(OSError):  # aiohttp.ClientConnectorError is an OSError
            await client.get("pods", "p1", "default", raw=True)


async def test_an_informer_resumes_on_the_new_server_after_a_switch(two: TwoServers) -> None:
    pool = ServerPool(two.a)
    pool.set_servers([two.b])
    client = ApiClient(two.a, servers=pool)
    informer = Informer(client, "pods", raw=True, retry_delay=0.01)
    informer.start()
    try:
        await informer.has_synced()
        await two.fake.put("pods", pod("before"))
        await eventually(lambda: informer.get("default/before") is not None)
        watches = two.fake.watch_count
        pool.failed(two.a)  # what the health check decides for a server gone silent
        assert client.server == two.b
        await eventually(lambda: two.fake.watch_count > watches)
        await two.fake.put("pods", pod("after"))
        await eventually(lambda: informer.get("default/after") is not None)
        assert two.ports_asked()[-1] == port_of(two.b)
    finally:
        await informer.stop()
        await client.close()


async def test_healthy_is_readyz_answering_200(two: TwoServers) -> None:
    async with ApiClient(two.a) as client:
        assert await client.healthy(two.a)
        assert not await client.healthy(two.b)  # answers 500
        assert not await client.healthy(two.dead, timeout=1)


async def test_a_copy_with_another_token_follows_the_same_servers(two: TwoServers) -> None:
    pool = ServerPool(two.dead)
    pool.set_servers([two.a])
    async with ApiClient(two.dead, servers=pool) as client:
        other = client.with_token("t2")
        try:
            await other.list("pods")
            assert client.server == other.server == two.a
        finally:
            await other.close()
