"""An asyncio DNS server on UDP and TCP: the cluster zone from records, the rest forwarded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import cast

from kubelite.dns import wire
from kubelite.dns.forward import Forwarder
from kubelite.dns.records import ClusterRecords

log = logging.getLogger(__name__)
UDP_LIMIT = 512


class DnsHandler:
    """Turns one query into one reply."""

    def __init__(self, records: ClusterRecords, forwarder: Forwarder | None = None) -> None:
        self.records = records
        self.forwarder = forwarder

    async def handle(self, data: bytes) -> bytes | None:
        try:
            request = wire.decode_message(data)
        except wire.DecodeError:
            if len(data) < 2:
                return None
            return struct.pack("!6H", int.from_bytes(data[:2], "big"), wire.QR | wire.FORMERR, 0, 0, 0, 0)
        if request.flags & wire.QR:
            return None  # a response sent to us: ignore
        if request.opcode != 0:
            return wire.encode_message(wire.reply_to(request, wire.NOTIMP))
        if len(request.questions) != 1:
            return wire.encode_message(wire.reply_to(request, wire.FORMERR))
        question = request.questions[0]
        if not self.records.in_zone(question.name):
            answer = await self.forwarder.forward(data) if self.forwarder else None
            return answer or wire.encode_message(wire.reply_to(request, wire.SERVFAIL))
        found = self.records.lookup(question.name, question.type)
        reply = wire.reply_to(request, found.rcode, authoritative=True)
        reply.answers, reply.additional = found.answers, found.additional
        if found.soa:
            reply.authority = [self.records.soa()]
        return wire.encode_message(reply)


def udp_limit(data: bytes) -> int:
    """The reply size the client accepts: 512, or its EDNS0 payload size."""
    try:
        request = wire.decode_message(data)
    except wire.DecodeError:
        return UDP_LIMIT
    opt = next((r for r in request.additional if r.type == wire.OPT), None)
    return max(UDP_LIMIT, opt.cls) if opt is not None else UDP_LIMIT


def truncate(reply: bytes) -> bytes:
    """The header and question only, with TC set (the client retries over TCP)."""
    message = wire.decode_message(reply)
    message.flags |= wire.TC
    message.answers, message.authority, message.additional = [], [], []
    return wire.encode_message(message)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, handler: DnsHandler) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        task = asyncio.create_task(self._answer(data, addr))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _answer(self, data: bytes, addr: tuple[str | object, int]) -> None:
        try:
            reply = await self.handler.handle(data)
        except Exception:  # a bad query must not stop the server
            log.exception("dns: answering a UDP query failed")
            return
        if reply is None or self.transport is None:
            return
        if len(reply) > udp_limit(data):
            reply = truncate(reply)
        self.transport.sendto(reply, addr)


class DnsServer:
    """Listens on host:port (UDP and TCP); `port=0` picks a free port, found in `.port`."""

    def __init__(self, handler: DnsHandler, host: str = "127.0.0.1", port: int = 53) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port, reuse_address=True)
        self.port = self._tcp.sockets[0].getsockname()[1]  # the same port for UDP
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self.handler), local_addr=(self.host, self.port))
        self._udp = transport

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await self._tcp.wait_closed()
            self._tcp = None

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                reply = await self.handler.handle(await reader.readexactly(size))
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("dns: answering a TCP query failed")
        finally:
            writer.close()
