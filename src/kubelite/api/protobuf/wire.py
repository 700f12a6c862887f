"""The protobuf wire format: varints, tags and length-delimited fields.

Just enough of https://protobuf.dev/programming-guides/encoding/ to read and write
Kubernetes objects without the protobuf package. Malformed input raises ValueError.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VARINT = 0
FIXED64 = 1
LEN = 2
FIXED32 = 5

Field = tuple[int, int, "int | bytes"]


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode the varint at data[pos:], returning (value, next position)."""
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint too long")


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) for every field of one message.

    Varints and fixed-width values come back as unsigned ints, length-delimited
    fields as bytes. Groups (wire types 3 and 4) are not used by Kubernetes.
    """
    pos = 0
    end = len(data)
    while pos < end:
        tag, pos = read_varint(data, pos)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("invalid field number 0")
        if wire_type == VARINT:
            value, pos = read_varint(data, pos)
            yield number, wire_type, value
        elif wire_type == LEN:
            length, pos = read_varint(data, pos)
            if pos + length > end:
                raise ValueError("truncated length-delimited field")
            yield number, wire_type, data[pos : pos + length]
            pos += length
        elif wire_type == FIXED64:
            if pos + 8 > end:
                raise ValueError("truncated fixed64 field")
            yield number, wire_type, int.from_bytes(data[pos : pos + 8], "little")
            pos += 8
        elif wire_type == FIXED32:
            if pos + 4 > end:
                raise ValueError("truncated fixed32 field")
            yield number, wire_type, int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")


def signed(value: int, bits: int = 64) -> int:
    """Reinterpret an unsigned varint as a two's-complement intN (int32/int64 fields)."""
    value &= (1 << 64) - 1
    if bits == 32:
        value &= (1 << 32) - 1
        return value - (1 << 32) if value >> 31 else value
    return value - (1 << 64) if value >> 63 else value


def as_double(value: int) -> float:
    return float(struct.unpack("<d", value.to_bytes(8, "little"))[0])


def varint(value: int) -> bytes:
    """Encode an int as a varint; negative numbers take ten bytes, as in Go."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def len_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings, bytes, messages)."""
    return tag(number, LEN) + varint(len(payload)) + payload


def varint_field(number: int, value: int) -> bytes:
    return tag(number, VARINT) + varint(value)


def double_field(number: int, value: float) -> bytes:
    return tag(number, FIXED64) + struct.pack("<d", value)
