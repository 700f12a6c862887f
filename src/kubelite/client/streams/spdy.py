"""SPDY/3.1 framing, enough for the server side of client-go's remotecommand and port-forward.

client-go (via moby/spdystream) opens one SPDY stream per channel with SYN_STREAM and a
`streamtype` header, waits for our SYN_REPLY, then sends DATA frames; FIN on a DATA frame
half-closes that stream. It does no flow control, so WINDOW_UPDATE and SETTINGS are only
parsed and ignored.

Header blocks are compressed with one zlib stream per direction for the whole session,
primed with the SPDY/3 dictionary and sync-flushed after each block.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from kubelite.client.streams.spdy_dictionary import SPDY3_DICTIONARY

VERSION = 3
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

SYN_STREAM = 1
SYN_REPLY = 2
RST_STREAM = 3
SETTINGS = 4
PING = 6
GOAWAY = 7
HEADERS = 8
WINDOW_UPDATE = 9

# RST_STREAM status codes.
RST_PROTOCOL_ERROR = 1
RST_INVALID_STREAM = 2
RST_REFUSED_STREAM = 3
RST_CANCEL = 5
RST_INTERNAL_ERROR = 6

MAX_FRAME_LENGTH = 0xFFFFFF
HEADER_LENGTH = 8

Headers = dict[str, list[str]]


class SpdyError(Exception):
    """The peer sent something that is not SPDY/3."""


@dataclass
class DataFrame:
    stream_id: int
    data: bytes
    flags: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


@dataclass
class ControlFrame:
    """A control frame, decoded as far as its type needs."""

    type: int
    flags: int = 0
    stream_id: int = 0  # SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE
    associated_id: int = 0  # SYN_STREAM
    priority: int = 0  # SYN_STREAM
    headers: Headers = field(default_factory=dict)  # SYN_STREAM, SYN_REPLY, HEADERS
    status: int = 0  # RST_STREAM, GOAWAY
    ping_id: int = 0  # PING
    last_good_stream_id: int = 0  # GOAWAY
    delta: int = 0  # WINDOW_UPDATE
    raw: bytes = b""  # the payload of types we do not decode (SETTINGS, ...)

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


Frame = DataFrame | ControlFrame


class HeaderCompressor:
    """Compresses header blocks for one direction of a session."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8,
                                   zlib.Z_DEFAULT_STRATEGY, SPDY3_DICTIONARY)

    def compress(self, headers: Headers) -> bytes:
        block = bytearray(struct.pack(">I", len(headers)))
        for name, values in headers.items():
            raw_name = name.lower().encode()
            raw_value = b"\x00".join(v.encode() for v in values)
            block += struct.pack(">I", len(raw_name)) + raw_name
            block += struct.pack(">I", len(raw_value)) + raw_value
        return self._z.compress(bytes(block)) + self._z.flush(zlib.Z_SYNC_FLUSH)


class HeaderDecompressor:
    """Decompresses the header blocks of one direction of a session."""

    def __init__(self) -> None:
        self._z = zlib.decompressobj(zdict=SPDY3_DICTIONARY)

    def decompress(self, data: bytes) -> Headers:
        try:
            block = self._z.decompress(data)
        except zlib.error as e:
            raise SpdyError(f"bad header block: {e}") from e
        return parse_header_block(block)


def parse_header_block(block: bytes) -> Headers:
    try:
        (count,) = struct.unpack_from(">I", block, 0)
        pos = 4
        headers: Headers = {}
        for _ in range(count):
            (n,) = struct.unpack_from(">I", block, pos)
            name = block[pos + 4 : pos + 4 + n].decode()
            pos += 4 + n
            (n,) = struct.unpack_from(">I", block, pos)
            value = block[pos + 4 : pos + 4 + n].decode()
            pos += 4 + n
            headers.setdefault(name.lower(), []).extend(value.split("\x00"))
    except (struct.error, UnicodeDecodeError) as e:
        raise SpdyError(f"bad header block: {e}") from e
    return headers


def _control(frame_type: int, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_FRAME_LENGTH:
        raise ValueError("SPDY frame too large")
    return struct.pack(">HHI", 0x8000 | VERSION, frame_type, (flags << 24) | len(payload)) + payload


def encode_data(stream_id: int, data: bytes, *, fin: bool = False) -> bytes:
    """One DATA frame (callers split payloads larger than MAX_FRAME_LENGTH)."""
    if len(data) > MAX_FRAME_LENGTH:
        raise ValueError("SPDY frame too large")
    flags = FLAG_FIN if fin else 0
    return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(data)) + data


def encode_syn_stream(
    compressor: HeaderCompressor, stream_id: int, headers: Headers, *,
    associated_id: int = 0, priority: int = 0, fin: bool = False,
) -> bytes:
    payload = struct.pack(">IIBB", stream_id & 0x7FFFFFFF, associated_id & 0x7FFFFFFF,
                          (priority & 0x7) << 5, 0)
    return _control(SYN_STREAM, FLAG_FIN if fin else 0, payload + compressor.compress(headers))


def encode_syn_reply(
    compressor: HeaderCompressor, stream_id: int, headers: Headers | None = None, *, fin: bool = False
) -> bytes:
    payload = struct.pack(">I", stream_id & 0x7FFFFFFF) + compressor.compress(headers or {})
    return _control(SYN_REPLY, FLAG_FIN if fin else 0, payload)


def encode_rst_stream(stream_id: int, status: int) -> bytes:
    return _control(RST_STREAM, 0, struct.pack(">II", stream_id & 0x7FFFFFFF, status))


def encode_ping(ping_id: int) -> bytes:
    return _control(PING, 0, struct.pack(">I", ping_id))


def encode_goaway(last_good_stream_id: int, status: int = 0) -> bytes:
    return _control(GOAWAY, 0, struct.pack(">II", last_good_stream_id & 0x7FFFFFFF, status))


class FrameDecoder:
    """Turns the bytes of one direction into frames; feed data as it arrives."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._headers = HeaderDecompressor()

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= HEADER_LENGTH:
            first, second = struct.unpack_from(">II", self._buf, 0)
            length = second & 0xFFFFFF
            if len(self._buf) < HEADER_LENGTH + length:
                break
            flags = second >> 24
            payload = bytes(self._buf[HEADER_LENGTH : HEADER_LENGTH + length])
            del self._buf[: HEADER_LENGTH + length]
            if first & 0x80000000:
                version = (first >> 16) & 0x7FFF
                if version != VERSION:
                    raise SpdyError(f"unsupported SPDY version {version}")
                frames.append(self._control(first & 0xFFFF, flags, payload))
            else:
                frames.append(DataFrame(first & 0x7FFFFFFF, payload, flags))
        return frames

    def _control(self, frame_type: int, flags: int, p: bytes) -> ControlFrame:
        f = ControlFrame(frame_type, flags)
        try:
            if frame_type == SYN_STREAM:
                sid, assoc, pri, _slot = struct.unpack_from(">IIBB", p, 0)
                f.stream_id, f.associated_id, f.priority = sid & 0x7FFFFFFF, assoc & 0x7FFFFFFF, pri >> 5
                f.headers = self._headers.decompress(p[10:])
            elif frame_type in (SYN_REPLY, HEADERS):
                (sid,) = struct.unpack_from(">I", p, 0)
                f.stream_id = sid & 0x7FFFFFFF
                f.headers = self._headers.decompress(p[4:])
            elif frame_type == RST_STREAM:
                sid, f.status = struct.unpack_from(">II", p, 0)
                f.stream_id = sid & 0x7FFFFFFF
            elif frame_type == PING:
                (f.ping_id,) = struct.unpack_from(">I", p, 0)
            elif frame_type == GOAWAY:
                sid, f.status = struct.unpack_from(">II", p, 0) if len(p) >= 8 else (*struct.unpack_from(">I", p, 0), 0)
                f.last_good_stream_id = sid & 0x7FFFFFFF
            elif frame_type == WINDOW_UPDATE:
                sid, f.delta = struct.unpack_from(">II", p, 0)
                f.stream_id = sid & 0x7FFFFFFF
            else:
                f.raw = p
        except struct.error as e:
            raise SpdyError(f"short control frame of type {frame_type}") from e
        return f
