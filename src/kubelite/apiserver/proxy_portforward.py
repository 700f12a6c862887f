"""pods/portforward: kubectl's SPDY/3.1 session relayed byte for byte to the kubelet.

As kube-apiserver's upgrade-aware proxy, we do not read the SPDY frames: we upgrade a
connection to the kubelet's `/portForward/NS/POD`, answer kubectl's upgrade, and copy bytes.
kubectl 1.31+ (PortForwardWebsockets, on by default) asks for a WebSocket with the
subprotocol `SPDY/3.1+portforward.k8s.io` instead: each binary message carries the next
bytes of the same SPDY session (client-go's TunnelingConnection), which we unwrap
toward the kubelet and wrap back (apiserver's streamtunnel.go).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from aiohttp import WSMsgType, web

from kubelite.api import status as st
from kubelite.client.streams.spdy_conn import UPGRADE, is_spdy_upgrade

PROTOCOL = "portforward.k8s.io"
TUNNEL_PROTOCOL = f"{UPGRADE}+{PROTOCOL}"  # constants.WebsocketsSPDYTunnelingPortForwardV1
CHUNK = 64 * 1024
HIGH_WATER = 1 << 20
HEAD_LIMIT = 64 * 1024


class KubeletRefused(Exception):
    """The kubelet answered the upgrade with an error (`code`, `body`)."""

    def __init__(self, code: int, body: bytes) -> None:
        super().__init__(code, body)
        self.code, self.body = code, body


def offered_protocols(request: web.Request) -> list[str]:
    return [p.strip() for v in request.headers.getall("X-Stream-Protocol-Version", []) for p in v.split(",")]


async def _upgrade_kubelet(host: str, port: int, path: str, ctx: ssl.SSLContext
                           ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the kubelet already switched to SPDY/3.1 portforward.k8s.io."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=ctx, limit=CHUNK), 10)
    except (OSError, TimeoutError) as e:
        raise st.InternalError(f"error dialing backend: dial tcp {host}:{port}: {e}") from e
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    writer.write((f"POST {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: Upgrade\r\n"
                  f"Upgrade: {UPGRADE}\r\nX-Stream-Protocol-Version: {PROTOCOL}\r\n"
                  "Content-Length: 0\r\n\r\n").encode())
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        writer.close()
        raise st.InternalError(f"error dialing backend: {e or 'no answer from the kubelet'}") from e
    lines = head.decode("latin-1").split("\r\n")
    code = int(lines[0].split()[1]) if len(lines[0].split()) > 1 else 0
    if code == 101:
        return reader, writer
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = min(int(value), HEAD_LIMIT)
    body = b""
    with contextlib.suppress(OSError, TimeoutError, asyncio.IncompleteReadError):
        body = await asyncio.wait_for(reader.readexactly(length), 10)
    writer.close()
    raise KubeletRefused(code, body or f"the kubelet answered {code} to the upgrade".encode())


class _Relay:
    """kubectl's raw connection after our 101, fed by aiohttp's protocol, into the kubelet."""

    def __init__(self, request: web.Request, upstream: asyncio.StreamWriter) -> None:
        self.request = request
        self.upstream = upstream
        self.done = asyncio.Event()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if not self.upstream.is_closing():
            self.upstream.write(data)
            if self.upstream.transport.get_write_buffer_size() > HIGH_WATER and self.request.transport:
                self.request.transport.pause_reading()
                asyncio.get_running_loop().create_task(self._resume())
        return False, b""

    async def _resume(self) -> None:
        with contextlib.suppress(OSError):
            await self.upstream.drain()
        transport = self.request.transport
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    def feed_eof(self) -> None:
        self.done.set()


async def _copy_to_client(reader: asyncio.StreamReader, request: web.Request) -> None:
    transport = request.transport
    while transport is not None and not transport.is_closing() and (chunk := await reader.read(CHUNK)):
        transport.write(chunk)
        while not transport.is_closing() and transport.get_write_buffer_size() > HIGH_WATER:
            await asyncio.sleep(0.01)


async def _until_first(*aws: asyncio.Future[object] | asyncio.Task[object]) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def serve_spdy(request: web.Request, host: str, port: int, path: str, ctx: ssl.SSLContext) -> web.StreamResponse:
    if PROTOCOL not in offered_protocols(request):
        raise st.Forbidden(f"unable to upgrade: unable to negotiate protocol: client supports "
                           f"{offered_protocols(request)}, server supports [{PROTOCOL}]")
    reader, writer = await _upgrade_kubelet(host, port, path, ctx)
    try:
        response = web.StreamResponse(status=101, headers={
            "Connection": "Upgrade", "Upgrade": UPGRADE, "X-Stream-Protocol-Version": PROTOCOL})
        await response.prepare(request)
        request.protocol.keep_alive(False)
        relay = _Relay(request, writer)
        request.protocol.set_parser(relay)  # type: ignore[arg-type]
        await _until_first(asyncio.create_task(relay.done.wait()),  # type: ignore[arg-type]
                           asyncio.create_task(_copy_to_client(reader, request)))  # type: ignore[arg-type]
    finally:
        writer.close()
        if request.transport is not None:
            request.transport.close()
    return response


async def _ws_to_kubelet(ws: web.WebSocketResponse, writer: asyncio.StreamWriter) -> None:
    async for msg in ws:
        if msg.type != WSMsgType.BINARY:
            return  # the tunnel carries binary messages only
        writer.write(msg.data)
        await writer.drain()


async def _kubelet_to_ws(reader: asyncio.StreamReader, ws: web.WebSocketResponse) -> None:
    while chunk := await reader.read(CHUNK):
        await ws.send_bytes(chunk)


async def serve_tunnel(request: web.Request, host: str, port: int, path: str, ctx: ssl.SSLContext) -> web.StreamResponse:
    ws = web.WebSocketResponse(protocols=(TUNNEL_PROTOCOL,), autoping=True, compress=False, max_msg_size=0)
    if ws.can_prepare(request).protocol != TUNNEL_PROTOCOL:
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        raise st.BadRequest(f"unable to upgrade: unable to negotiate protocol: client supports [{offered}], "
                            f"server supports [{TUNNEL_PROTOCOL}]")
    reader, writer = await _upgrade_kubelet(host, port, path, ctx)
    try:
        await ws.prepare(request)
        await _until_first(asyncio.create_task(_ws_to_kubelet(ws, writer)),  # type: ignore[arg-type]
                           asyncio.create_task(_kubelet_to_ws(reader, ws)))  # type: ignore[arg-type]
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close()
    return ws


async def serve(request: web.Request, host: str, port: int, path: str, ctx: ssl.SSLContext) -> web.StreamResponse:
    if is_spdy_upgrade(request):
        return await serve_spdy(request, host, port, path, ctx)
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await serve_tunnel(request, host, port, path, ctx)
    raise st.BadRequest("Upgrade request required")
