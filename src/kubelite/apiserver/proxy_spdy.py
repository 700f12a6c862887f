"""kubectl's exec/attach over SPDY/3.1 (kubectl 1.27-1.29, and 1.30+ when WebSocket fails).

After `101 Switching Protocols` the client opens one SPDY stream per channel, each with a
`streamtype` header (error, stdin, stdout, stderr, resize). We answer each SYN_STREAM with a
SYN_REPLY and report ready once every stream the query asked for exists; stdin sent before
that is queued. The session speaks v4.channel.k8s.io semantics: the Status on the error
stream, FIN on stdin for EOF.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from kubelite.client.streams import channels, spdy
from kubelite.client.streams.spdy_conn import SpdyServerConnection

# What we can speak over SPDY, best first: v5 over SPDY is v4 on the wire.
SPDY_PROTOCOLS = ("v4.channel.k8s.io", "v5.channel.k8s.io")
STREAM_CHANNELS = {"stdout": channels.STDOUT, "stderr": channels.STDERR, "error": channels.ERROR}
DATA_CHUNK = 32 * 1024


def negotiate(request: web.Request) -> str | None:
    offered: list[str] = []
    for value in request.headers.getall("X-Stream-Protocol-Version", []):
        offered.extend(channels.split_header(value))
    for proto in offered:  # the client's order, as kube-apiserver's negotiation does
        if proto in SPDY_PROTOCOLS:
            return proto
    return None


def expected_streams(*, stdin: bool, stdout: bool, stderr: bool, tty: bool) -> set[str]:
    wanted = {"error"}
    if stdin:
        wanted.add("stdin")
    if stdout:
        wanted.add("stdout")
    if stderr and not tty:
        wanted.add("stderr")
    if tty:
        wanted.add("resize")
    return wanted


class SpdyClient(SpdyServerConnection):
    """A SPDY/3.1 remote-command session accepted from kubectl (a `ChannelClient`)."""

    def __init__(self, request: web.Request, expected: set[str]) -> None:
        super().__init__(request)
        self.expected = expected
        self.streams: dict[str, int] = {}
        self._resize_buf = b""
        self._incoming: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._ready = asyncio.Event()

    def on_closed(self) -> None:
        self._incoming.put_nowait(None)

    def on_frame(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.DataFrame):
            self._data(frame)
        elif frame.type == spdy.SYN_STREAM:
            kind = (frame.headers.get("streamtype") or [""])[0]
            self.streams[kind] = frame.stream_id
            self.reply(frame.stream_id)
            if self.expected <= self.streams.keys():
                self._ready.set()
        elif frame.type == spdy.RST_STREAM and frame.stream_id == self.streams.get("stdin"):
            self._incoming.put_nowait((channels.CLOSE, bytes([channels.STDIN])))
        # SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (spdystream does no flow control)

    def _data(self, frame: spdy.DataFrame) -> None:
        if frame.stream_id == self.streams.get("stdin"):
            if frame.data:
                self._incoming.put_nowait((channels.STDIN, frame.data))
            if frame.fin:
                self._incoming.put_nowait((channels.CLOSE, bytes([channels.STDIN])))
        elif frame.stream_id == self.streams.get("resize"):
            self._resize_buf += frame.data
            *lines, self._resize_buf = self._resize_buf.split(b"\n")
            for line in lines:
                if line.strip():
                    self._incoming.put_nowait((channels.RESIZE, line))

    # ----- ChannelClient

    async def ready(self) -> None:
        ready = asyncio.create_task(self._ready.wait())
        gone = asyncio.create_task(self.gone.wait())
        try:
            await asyncio.wait({ready, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
            gone.cancel()

    async def receive(self) -> tuple[int, bytes] | None:
        return await self._incoming.get()

    async def send(self, channel: int, data: bytes) -> None:
        name = {v: k for k, v in STREAM_CHANNELS.items()}.get(channel)
        sid = self.streams.get(name or "")
        if not sid:
            return
        for i in range(0, len(data), DATA_CHUNK):
            self.write(spdy.encode_data(sid, data[i : i + DATA_CHUNK]))
            await self.drain()

    async def finish(self, linger: float = 5.0) -> None:
        """FIN every output stream, then wait for the client to hang up (GOAWAY or EOF)."""
        for name in ("stdout", "stderr", "error"):
            sid = self.streams.get(name)
            if sid:
                self.write(spdy.encode_data(sid, b"", fin=True))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.gone.wait(), linger)
        self.close_transport()
