"""Raw HTTP to a live `kubelite server` (tests.helpers.cluster.Server): aiohttp with its token.

For tests that must see exactly what the server answers (codes, Status bodies, headers),
without a client library retrying or reshaping anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from tests.helpers.cluster import Server


@asynccontextmanager
async def raw_session(server: Server, connections: int = 200) -> AsyncIterator[aiohttp.ClientSession]:
    """A session sending the admin token to `server` (its self-signed certificate is not checked)."""
    connector = aiohttp.TCPConnector(ssl=False, limit=connections)
    headers = {"Authorization": f"Bearer {server.token()}"}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(server.url, connector=connector, headers=headers, timeout=timeout) as session:
        yield session
