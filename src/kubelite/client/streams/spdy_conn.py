"""The server side of a SPDY/3.1 connection taken over from aiohttp after `101 Switching Protocols`.

Shared by the API server (kubectl's exec/attach over SPDY) and the kubelet (port-forward):
frames in, PING answered, GOAWAY or EOF ends the session; subclasses handle stream frames.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from kubelite.client.streams import spdy

log = logging.getLogger("kubelite.streams.spdy")

UPGRADE = "SPDY/3.1"
HIGH_WATER = 1 << 20


def is_spdy_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower().startswith("spdy/")


class _Feeder:
    """Stands in for aiohttp's payload parser once the connection is ours."""

    def __init__(self, conn: SpdyServerConnection) -> None:
        self.conn = conn

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.conn.data_received(data)
        return False, b""

    def feed_eof(self) -> None:
        self.conn.eof_received()


class SpdyServerConnection:
    """One accepted SPDY session; `on_frame` sees every frame but PING and GOAWAY."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self._decoder = spdy.FrameDecoder()
        self._compressor = spdy.HeaderCompressor()
        self.gone = asyncio.Event()

    async def accept(self, protocol: str) -> web.StreamResponse:
        """Answer 101 with the negotiated `protocol` and take the connection from aiohttp."""
        response = web.StreamResponse(status=101, headers={
            "Connection": "Upgrade", "Upgrade": UPGRADE, "X-Stream-Protocol-Version": protocol,
        })
        await response.prepare(self.request)
        self.request.protocol.keep_alive(False)
        self.request.protocol.set_parser(_Feeder(self))  # type: ignore[arg-type]
        return response

    # ----- incoming bytes (called by aiohttp's protocol, synchronously)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._decoder.feed(data)
        except spdy.SpdyError as e:
            log.warning("closing SPDY session: %s", e)
            self.close_transport()
            return
        for frame in frames:
            if isinstance(frame, spdy.ControlFrame) and frame.type == spdy.PING:
                self.write(spdy.encode_ping(frame.ping_id))
            elif isinstance(frame, spdy.ControlFrame) and frame.type == spdy.GOAWAY:
                self._closed()
            else:
                self.on_frame(frame)

    def eof_received(self) -> None:
        self._closed()

    def _closed(self) -> None:
        if not self.gone.is_set():
            self.gone.set()
            self.on_closed()

    def on_frame(self, frame: spdy.Frame) -> None:
        """A DATA, SYN_STREAM, RST_STREAM or other stream frame from the client."""

    def on_closed(self) -> None:
        """The client hung up (GOAWAY or EOF); called once."""

    # ----- outgoing

    def reply(self, stream_id: int) -> None:
        self.write(spdy.encode_syn_reply(self._compressor, stream_id))

    def write(self, data: bytes) -> None:
        transport = self.request.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def close_transport(self) -> None:
        self._closed()
        transport = self.request.transport
        if transport is not None:
            transport.close()

    async def drain(self) -> None:
        transport = self.request.transport
        while transport is not None and not transport.is_closing() and transport.get_write_buffer_size() > HIGH_WATER:
            await asyncio.sleep(0.01)

    def pause_reading(self, pause: bool) -> None:
        """Stop (or resume) reading the client while what it sent waits to be delivered."""
        transport = self.request.transport
        if transport is None or transport.is_closing():
            return
        if pause:
            transport.pause_reading()
        else:
            transport.resume_reading()
