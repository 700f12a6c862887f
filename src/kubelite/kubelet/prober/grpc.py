"""The grpc probe (pkg/probe/grpc): `grpc.health.v1.Health/Check` over plaintext HTTP/2.

A minimal client, enough for one unary call: the connection preface, SETTINGS (acknowledged),
one HEADERS + DATA request on stream 1, then frames until the stream ends. Answers are read
with our HPACK decoder; the request uses plain literals. The protobuf messages are one field
each (`HealthCheckRequest.service = 1`, `HealthCheckResponse.status = 1`). Output texts are
the kubelet's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from urllib.parse import unquote

from kubelite.kubelet.prober.hpack import Decoder, HpackError, encode_literal
from kubelite.kubelet.prober.http import USER_AGENT
from kubelite.kubelet.prober.results import Outcome, failure, success

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0x0, 0x1, 0x3, 0x4, 0x6, 0x7, 0x8, 0x9)
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
PATH = "/grpc.health.v1.Health/Check"
SERVING_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}
CODES = {0: "OK", 1: "Canceled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded",
         5: "NotFound", 6: "AlreadyExists", 7: "PermissionDenied", 8: "ResourceExhausted",
         9: "FailedPrecondition", 10: "Aborted", 11: "OutOfRange", 12: "Unimplemented",
         13: "Internal", 14: "Unavailable", 15: "DataLoss", 16: "Unauthenticated"}
UNIMPLEMENTED, DEADLINE_EXCEEDED = 12, 4


class _RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"rpc error: code = {CODES.get(code, f'Code({code})')} desc = {message}")
        self.code = code
        self.message = message


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(
        ">I", stream) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def health_request(service: str) -> bytes:
    """The length-prefixed gRPC message carrying HealthCheckRequest{service}."""
    body = b""
    if service:
        raw = service.encode()
        body = b"\x0a" + _varint(len(raw)) + raw
    return b"\x00" + struct.pack(">I", len(body)) + body


def serving_status(message: bytes) -> int:
    """HealthCheckResponse.status from a length-prefixed gRPC message (0 when absent)."""
    body = message[5:5 + struct.unpack(">I", message[1:5])[0]] if len(message) >= 5 else b""
    pos = 0
    status = 0
    while pos < len(body):
        key = body[pos]
        pos += 1
        value = shift = 0
        if key & 7 == 0:  # varint
            while pos < len(body):
                byte = body[pos]
                pos += 1
                value |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            if key >> 3 == 1:
                status = value
        elif key & 7 == 2:  # length-delimited: skip
            length = body[pos]
            pos += 1 + length
        else:
            break
    return status


def _strip(flags: int, payload: bytes, kind: int) -> bytes:
    if flags & PADDED:
        pad = payload[0]
        payload = payload[1:len(payload) - pad]
    if kind == HEADERS and flags & PRIORITY:
        payload = payload[5:]
    return payload


async def _call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, authority: str,
                service: str, timeout: float) -> int:
    """Run the Check call; the serving status, or _RpcError."""
    block = b"".join(encode_literal(n, v) for n, v in (
        (":method", "POST"), (":scheme", "http"), (":path", PATH), (":authority", authority),
        ("content-type", "application/grpc"), ("te", "trailers"),
        ("user-agent", USER_AGENT), ("grpc-timeout", f"{max(int(timeout * 1000), 1)}m")))
    writer.write(PREFACE + frame(SETTINGS, 0, 0) + frame(HEADERS, END_HEADERS, 1, block)
                 + frame(DATA, END_STREAM, 1, health_request(service)))
    await writer.drain()
    decoder = Decoder()
    headers: dict[str, str] = {}
    pending = b""
    data = b""
    while True:
        head = await reader.readexactly(9)
        length = int.from_bytes(head[:3], "big")
        kind, flags = head[3], head[4]
        stream = struct.unpack(">I", head[5:9])[0] & 0x7FFFFFFF
        payload = await reader.readexactly(length)
        if kind == SETTINGS and not flags & ACK:
            writer.write(frame(SETTINGS, ACK, 0))
        elif kind == PING and not flags & ACK:
            writer.write(frame(PING, ACK, 0, payload))
        elif kind == GOAWAY:
            code = struct.unpack(">I", payload[4:8])[0] if len(payload) >= 8 else 0
            raise _RpcError(14, f"connection closed by the server (GOAWAY {code})")
        elif stream != 1:
            continue
        elif kind == RST_STREAM:
            raise _RpcError(14, "stream reset by the server")
        elif kind in (HEADERS, CONTINUATION):
            pending += _strip(flags, payload, kind)
            if flags & END_HEADERS:
                headers.update(decoder.decode(pending))
                pending = b""
        elif kind == DATA:
            data += _strip(flags, payload, kind)
        if stream == 1 and flags & END_STREAM and kind in (HEADERS, DATA):
            break
    code = int(headers.get("grpc-status", "2") or 2)
    if code != 0:
        raise _RpcError(code, unquote(headers.get("grpc-message", "")))
    return serving_status(data)


def _seconds(timeout: float) -> str:
    return f"{timeout:g}s"


async def probe_grpc(host: str, port: int, service: str, timeout: float) -> Outcome:
    addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return failure(f'timeout: failed to connect service "{addr}" within {_seconds(timeout)}: '
                       "context deadline exceeded")
    except OSError as e:
        return failure(f'error: failed to connect service at "{addr}": '
                       f"{e.strerror or e}")
    try:
        async with asyncio.timeout(max(deadline - loop.time(), 0.001)):
            status = await _call(reader, writer, addr, service, timeout)
    except TimeoutError:
        return failure(f"timeout: health rpc did not complete within {_seconds(timeout)}")
    except _RpcError as e:
        if e.code == UNIMPLEMENTED:
            return failure("error: this server does not implement the grpc health protocol "
                           f"(grpc.health.v1.Health): {e.message}")
        if e.code == DEADLINE_EXCEEDED:
            return failure(f"timeout: health rpc did not complete within {_seconds(timeout)}")
        return failure(f"error: health rpc probe failed: {e}")
    except (OSError, asyncio.IncompleteReadError, HpackError, IndexError, struct.error) as e:
        return failure(f"error: health rpc probe failed: rpc error: code = Unavailable desc = {e}")
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    if status != 1:
        return failure(f'service unhealthy (responded with "{SERVING_STATUS.get(status, status)}")')
    return success("service healthy")
