"""A byte stream (a followed log) sent over a WebSocket, as kube-apiserver's wsstream.Reader
does for a streamed response asked with `Upgrade: websocket`: an empty message first, then
each chunk read as one message, binary under `binary.k8s.io` (or no subprotocol), base64 text
under `base64.binary.k8s.io`; what the client sends is read and dropped, and its close ends
the stream. A browser can hold many of these, unlike fetch streams (six per host).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

from aiohttp import WSMsgType, web

from kubelite.api import status as st
from kubelite.apiserver.auth import WEBSOCKET_BEARER_PREFIX

BINARY = "binary.k8s.io"
BASE64 = "base64.binary.k8s.io"
SUPPORTED = ("", BINARY, BASE64)
CLOSE_TIMEOUT = 2.0


def reader_protocol(request: web.Request) -> str:
    """The subprotocol to answer with: the first offered that is supported (the bearer token
    aside), "" when none is offered; a 400 when only unsupported ones are."""
    offered = [p.strip() for p in ",".join(request.headers.getall("Sec-WebSocket-Protocol", [])).split(",")]
    offered = [p for p in offered if p and not p.startswith(WEBSOCKET_BEARER_PREFIX)]
    if not offered:
        return ""
    for protocol in offered:
        if protocol in SUPPORTED:
            return protocol
    raise st.BadRequest(f"requested protocol(s) are not supported: {offered}; supports {list(SUPPORTED)}")


async def copy(request: web.Request, protocol: str, chunks: AsyncIterator[bytes]) -> web.WebSocketResponse:
    """Send `chunks` to the client until they end or the client closes."""
    ws = web.WebSocketResponse(protocols=(protocol,) if protocol else (), compress=False, max_msg_size=4096,
                               timeout=CLOSE_TIMEOUT)
    await ws.prepare(request)
    as_text = protocol == BASE64

    async def send() -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_frame(b"", WSMsgType.TEXT if as_text else WSMsgType.BINARY)
            async for chunk in chunks:
                if as_text:
                    await ws.send_frame(base64.b64encode(chunk), WSMsgType.TEXT)
                else:
                    await ws.send_frame(chunk, WSMsgType.BINARY)

    async def drain() -> None:
        async for _ in ws:
            pass

    sender, reader = asyncio.create_task(send()), asyncio.create_task(drain())
    try:
        await asyncio.wait((sender, reader), return_when=asyncio.FIRST_COMPLETED)
    finally:
        sender.cancel()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close()
        reader.cancel()
        await asyncio.gather(sender, reader, return_exceptions=True)
    return ws
