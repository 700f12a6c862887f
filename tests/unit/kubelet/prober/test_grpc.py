"""The grpc probe against a small HTTP/2 server that answers like grpc-go does (Huffman-coded,
indexed headers, trailers)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Callable

from kubelite.kubelet.prober.grpc import (
    DATA,
    END_HEADERS,
    END_STREAM,
    HEADERS,
    PREFACE,
    SETTINGS,
    frame,
    health_request,
    probe_grpc,
)
from kubelite.kubelet.prober.hpack import Decoder, encode_int, huffman_encode
from kubelite.kubelet.prober.results import Result


def indexed_literal(name: str, value: str) -> bytes:
    """Literal with incremental indexing, new name, both Huffman-coded."""
    n, v = huffman_encode(name.encode()), huffman_encode(value.encode())
    return b"\x40" + encode_int(len(n), 7, 0x80) + n + encode_int(len(v), 7, 0x80) + v


Reply = Callable[[str], bytes]  # requested service -> frames after the request


def serving(status: int) -> Reply:
    def reply(service: str) -> bytes:
        body = b"\x08" + bytes([status])
        message = b"\x00" + struct.pack(">I", len(body)) + body
        head = b"\x88" + indexed_literal("content-type", "application/grpc")  # :status 200
        trailers = indexed_literal("grpc-status", "0") + indexed_literal("grpc-message", "")
        return (frame(HEADERS, END_HEADERS, 1, head) + frame(DATA, 0, 1, message)
                + frame(HEADERS, END_HEADERS | END_STREAM, 1, trailers))
    return reply


def trailers_only(code: int, message: str) -> Reply:
    def reply(service: str) -> bytes:
        block = (b"\x88" + indexed_literal("content-type", "application/grpc")
                 + indexed_literal("grpc-status", str(code))
                 + indexed_literal("grpc-message", message.replace(" ", "%20")))
        return frame(HEADERS, END_HEADERS | END_STREAM, 1, block)
    return reply


class FakeServer:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.readexactly(len(PREFACE)) == PREFACE
        writer.write(frame(SETTINGS, 0, 0))
        decoder = Decoder()
        headers: dict[str, str] = {}
        body = b""
        while True:
            head = await reader.readexactly(9)
            payload = await reader.readexactly(int.from_bytes(head[:3], "big"))
            if head[3] == HEADERS:
                headers.update(decoder.decode(payload))
            if head[3] == DATA:
                body += payload
                if head[4] & END_STREAM:
                    break
        self.requests.append((headers, body))
        writer.write(self.reply(body[7:].decode() if len(body) > 5 else ""))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()


async def serve(reply: Reply) -> AsyncIterator[tuple[FakeServer, int]]:
    fake = FakeServer(reply)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    try:
        yield fake, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_serving_is_success_and_the_request_is_a_health_check() -> None:
    async for fake, port in serve(serving(1)):
        outcome = await probe_grpc("127.0.0.1", port, "my.Service", 1)
        assert outcome.result is Result.SUCCESS and outcome.output == "service healthy"
        headers, body = fake.requests[0]
        assert headers[":path"] == "/grpc.health.v1.Health/Check"
        assert headers["content-type"] == "application/grpc" and headers["te"] == "trailers"
        assert body == health_request("my.Service")


async def test_not_serving_fails_with_the_status_name() -> None:
    async for _, port in serve(serving(2)):
        outcome = await probe_grpc("127.0.0.1", port, "", 1)
        assert outcome.result is Result.FAILURE
        assert outcome.output == 'service unhealthy (responded with "NOT_SERVING")'


async def test_unimplemented_and_other_rpc_errors() -> None:
    async for _, port in serve(trailers_only(12, "unknown service grpc.health.v1.Health")):
        outcome = await probe_grpc("127.0.0.1", port, "", 1)
        assert outcome.output == ("error: this server does not implement the grpc health protocol "
                                  "(grpc.health.v1.Health): unknown service grpc.health.v1.Health")
    async for _, port in serve(trailers_only(5, "unknown service")):
        outcome = await probe_grpc("127.0.0.1", port, "x", 1)
        assert outcome.output == ("error: health rpc probe failed: rpc error: code = NotFound "
                                  "desc = unknown service")


async def test_silent_server_times_out() -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        outcome = await probe_grpc("127.0.0.1", port, "", 0.2)
    finally:
        server.close()
    assert outcome.result is Result.FAILURE
    assert outcome.output == "timeout: health rpc did not complete within 0.2s"
