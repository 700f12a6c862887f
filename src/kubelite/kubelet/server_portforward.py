"""The kubelet's port-forward: SPDY/3.1 with the portforward.k8s.io protocol (kubelet
pkg/kubelet/cri/streaming/portforward/httpstream.go).

For each local connection kubectl opens two streams with the same `requestID` and `port`
headers: `streamType: error` and `streamType: data`. When both exist we connect to
localhost:PORT inside the pod's network namespace and copy bytes both ways; a failure is
written to the error stream as "error forwarding port P to pod SANDBOX, uid : REASON",
which kubectl prints. FIN on the data stream half-closes the pod connection; the pod's EOF
FINs the data stream, then the error stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from kubelite.client.streams import spdy
from kubelite.client.streams.spdy_conn import SpdyServerConnection

log = logging.getLogger("kubelite.kubelet.portforward")

PROTOCOL = "portforward.k8s.io"
CHUNK = 32 * 1024
PAUSE_AT = 4 << 20  # bytes from the client not yet written to the pod: stop reading above this

Dial = Callable[[int], Awaitable[socket.socket]]


@dataclass
class _Pair:
    """The two streams of one forwarded connection, and what has arrived for the pod."""

    request_id: str
    port: str = ""
    error: int = 0
    data: int = 0
    inbound: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None


def _header(frame: spdy.ControlFrame, name: str) -> str:
    return (frame.headers.get(name.lower()) or [""])[0]


class PortForwardSession(SpdyServerConnection):
    """One `kubectl port-forward` session to one pod."""

    def __init__(self, request: web.Request, dial: Dial, sandbox_id: str, uid: str = "") -> None:
        super().__init__(request)
        self.dial = dial
        self.sandbox_id, self.uid = sandbox_id, uid
        self.pairs: dict[str, _Pair] = {}
        self.by_stream: dict[int, _Pair] = {}
        self.buffered = 0

    async def serve(self) -> None:
        await self.gone.wait()
        tasks = [p.task for p in self.pairs.values() if p.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.close_transport()

    # ----- frames from kubectl

    def on_frame(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.DataFrame):
            pair = self.by_stream.get(frame.stream_id)
            if pair is None or frame.stream_id != pair.data:
                return  # the error stream carries nothing from the client
            if frame.data:
                self.buffered += len(frame.data)
                pair.inbound.put_nowait(frame.data)
                if self.buffered > PAUSE_AT:
                    self.pause_reading(True)
            if frame.fin:
                pair.inbound.put_nowait(None)
        elif frame.type == spdy.SYN_STREAM:
            self._new_stream(frame)
        elif frame.type == spdy.RST_STREAM:
            pair = self.by_stream.get(frame.stream_id)
            if pair is not None and pair.task is not None:
                pair.task.cancel()

    def _new_stream(self, frame: spdy.ControlFrame) -> None:
        kind = _header(frame, "streamType")
        request_id = _header(frame, "requestID")
        if not request_id:  # clients before requestID: the error stream comes first
            request_id = str(frame.stream_id if kind == "error" else frame.stream_id - 2)
        if kind not in ("error", "data"):
            self.write(spdy.encode_rst_stream(frame.stream_id, spdy.RST_PROTOCOL_ERROR))
            return
        self.reply(frame.stream_id)
        pair = self.pairs.setdefault(request_id, _Pair(request_id))
        pair.port = pair.port or _header(frame, "port")
        setattr(pair, kind, frame.stream_id)
        self.by_stream[frame.stream_id] = pair
        if pair.error and pair.data and pair.task is None:
            pair.task = asyncio.get_running_loop().create_task(self._forward(pair))

    # ----- one forwarded connection

    async def _forward(self, pair: _Pair) -> None:
        try:
            port = _parse_port(pair.port)
            sock = await self.dial(port)
        except Exception as e:  # noqa: BLE001 - reported to kubectl on the error stream
            message = str(e)
            if not isinstance(e, ValueError):
                message = f"error forwarding port {pair.port} to pod {self.sandbox_id}, uid {self.uid}: {e}"
            log.info("%s", message)
            self.write(spdy.encode_data(pair.error, message.encode()))
            self._end(pair)
            return
        try:
            reader, writer = await asyncio.open_connection(sock=sock, limit=CHUNK)
        except OSError:
            sock.close()
            self._end(pair)
            return
        to_pod = asyncio.create_task(self._to_pod(pair, writer))
        try:
            while chunk := await reader.read(CHUNK):
                self.write(spdy.encode_data(pair.data, chunk))
                await self.drain()
        except OSError:
            pass
        finally:
            to_pod.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await to_pod
            writer.close()
            self._end(pair)

    async def _to_pod(self, pair: _Pair, writer: asyncio.StreamWriter) -> None:
        while (chunk := await pair.inbound.get()) is not None:
            self.buffered -= len(chunk)
            writer.write(chunk)
            await writer.drain()
            if self.buffered <= PAUSE_AT // 2:
                self.pause_reading(False)
        if writer.can_write_eof():
            writer.write_eof()  # the client is done sending; the pod may still answer

    def _end(self, pair: _Pair) -> None:
        """FIN both streams (data first: kubectl reads the error stream once data is done)."""
        while not pair.inbound.empty():
            chunk = pair.inbound.get_nowait()
            self.buffered -= len(chunk or b"")
        self.write(spdy.encode_data(pair.data, b"", fin=True))
        self.write(spdy.encode_data(pair.error, b"", fin=True))
        self.pairs.pop(pair.request_id, None)
        self.by_stream.pop(pair.data, None)
        self.by_stream.pop(pair.error, None)


def _parse_port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ValueError(f"unable to parse '{value}' as a port: strconv.ParseUint: parsing "
                         f'"{value}": invalid syntax') from None
    if not 0 < port < 65536:
        raise ValueError(f"unable to parse '{value}' as a port: strconv.ParseUint: parsing "
                         f'"{value}": value out of range')
    return port


def negotiate(request: web.Request) -> bool:
    offered = [p.strip() for v in request.headers.getall("X-Stream-Protocol-Version", []) for p in v.split(",")]
    return PROTOCOL in offered
