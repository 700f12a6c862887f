"""kubectl's side of an exec/attach session, and the relay between it and the kubelet.

A `ChannelClient` is the client's connection seen as remote-command channels, whatever it
speaks (WebSocket v5/v4 here, SPDY/3.1 in `proxy_spdy`). `relay` joins it to the v5
WebSocket we opened to the kubelet.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Protocol

from aiohttp import ClientWebSocketResponse, WSMsgType, web

from kubelite.client.streams import channels, status


class ChannelClient(Protocol):
    async def ready(self) -> None:
        """Returns when the client can receive output (SPDY: all its streams exist)."""
        ...

    async def receive(self) -> tuple[int, bytes] | None:
        """The next (channel, payload) from the client: stdin, resize or a close signal
        `(255, b"\\x00")` at stdin EOF; None once the client has gone."""
        ...

    async def send(self, channel: int, data: bytes) -> None: ...

    async def finish(self) -> None:
        """End the session after the Status (close frame / FIN on every stream)."""
        ...


class WebSocketClient:
    """A v5/v4 (or base64) channel WebSocket accepted from kubectl or the Python client."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def ready(self) -> None:
        return None

    async def receive(self) -> tuple[int, bytes] | None:
        while True:
            msg = await self.ws.receive()
            if msg.type == WSMsgType.BINARY:
                if msg.data:
                    return channels.decode(msg.data)
            elif msg.type == WSMsgType.TEXT and msg.data:
                # The Python client writes str stdin as a text frame: channel char + text.
                if self.ws.ws_protocol == channels.BASE64_V4:
                    return channels.decode_base64(msg.data)
                return channels.decode(msg.data.encode())
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return None

    async def send(self, channel: int, data: bytes) -> None:
        if self.ws.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            if self.ws.ws_protocol == channels.BASE64_V4:
                await self.ws.send_str(chr(ord("0") + channel) + base64.b64encode(data).decode())
            else:
                await self.ws.send_bytes(channels.encode(channel, data))

    async def finish(self) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close()


async def _client_to_kubelet(client: ChannelClient, upstream: ClientWebSocketResponse) -> None:
    while True:
        item = await client.receive()
        if item is None:
            return
        channel, data = item
        if channel in (channels.STDIN, channels.RESIZE, channels.CLOSE) and not upstream.closed:
            await upstream.send_bytes(channels.encode(channel, data))


async def _kubelet_to_client(client: ChannelClient, upstream: ClientWebSocketResponse) -> bool:
    """Copy output until the kubelet closes; True if it sent the final Status."""
    saw_status = False
    async for msg in upstream:
        if msg.type != WSMsgType.BINARY or not msg.data:
            continue
        channel, data = channels.decode(msg.data)
        if channel in (channels.STDOUT, channels.STDERR, channels.ERROR):
            await client.send(channel, data)
            saw_status = saw_status or channel == channels.ERROR
    return saw_status


async def relay(client: ChannelClient, upstream: ClientWebSocketResponse, ready_timeout: float = 30.0) -> None:
    """Join the client and the kubelet until the command ends or the client goes away."""
    try:
        await asyncio.wait_for(client.ready(), ready_timeout)
    except TimeoutError:
        await upstream.close()
        await client.finish()
        return
    inbound = asyncio.create_task(_client_to_kubelet(client, upstream))
    outbound = asyncio.create_task(_kubelet_to_client(client, upstream))
    try:
        done, _ = await asyncio.wait({inbound, outbound}, return_when=asyncio.FIRST_COMPLETED)
        if outbound in done:
            if not outbound.exception() and not outbound.result():
                body = status.failure("error dialing backend: the stream from the kubelet ended without a status")
                await client.send(channels.ERROR, status.encode(body))
            await client.finish()
        else:  # the client went away: let the kubelet know
            await upstream.close()
    finally:
        for task in (inbound, outbound):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if not upstream.closed:
            await upstream.close()
