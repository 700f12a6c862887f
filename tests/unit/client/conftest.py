"""Fixtures for client tests: a fake API server on a loopback port and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from kubelite.client import ApiClient
from tests.unit.client.fake_apiserver import FakeApiServer


@pytest.fixture
async def fake_server() -> AsyncIterator[tuple[FakeApiServer, ApiClient]]:
    server = FakeApiServer()
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = ApiClient(f"http://127.0.0.1:{port}", token="secret-token")
    try:
        yield server, client
    finally:
        server.close_watches.set()
        await client.close()
        await runner.cleanup()
