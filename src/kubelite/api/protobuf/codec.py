"""Convert between Kubernetes protobuf messages and the JSON dicts the API speaks.

The tables say, per message, which JSON name and type each field number has. A few
apimachinery types have a JSON form unlike their message (Time is an RFC 3339 string,
Quantity a string, IntOrString an int or a string, RawExtension embedded JSON); they
are converted by the functions in SPECIAL.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubelite.api.protobuf import wire
from kubelite.api.protobuf.presence import ALWAYS, POINTERS
from kubelite.api.protobuf.tables import MESSAGES

# Go's protobuf writes every non-pointer scalar, zero or not. A decoded zero is kept
# where Go's JSON would carry it (pointers and non-omitempty fields, see presence.py)
# and dropped where omitempty would leave it out. Messages are kept even when their JSON
# is a zero scalar (IntOrString 0): Go's omitempty never drops a struct.
_ZERO_SCALARS: tuple[Any, ...] = ("", 0, False)
_SCALARS = {"string": "", "bytes": "", "bool": False, "int32": 0, "int64": 0, "uint32": 0, "uint64": 0,
            "double": 0.0}
_NO_FIELDS: frozenset[str] = frozenset()

_INT_BITS = {"int32": 32, "int64": 64, "uint32": 64, "uint64": 64}


# -- decoding -------------------------------------------------------------------------


def decode_message(name: str, data: bytes) -> Any:
    """Decode one message of type `name` into its JSON value."""
    special = SPECIAL.get(name)
    if special is not None:
        return special[0](data)
    table = MESSAGES.get(name)
    if table is None:
        raise ValueError(f"no protobuf table for {name}")
    pointers = POINTERS.get(name, _NO_FIELDS)
    out: dict[str, Any] = {}
    for number, wire_type, value in wire.iter_fields(data):
        entry = table.get(number)
        if entry is None:
            continue  # a field newer than our tables: skip it, as Go does
        json_name, type_str = entry
        if type_str.startswith("map["):
            key_type, value_type = type_str[4:].split("]", 1)
            key, item = _decode_map_entry(key_type, value_type, _as_bytes(value, json_name))
            out.setdefault(json_name, {})[key] = item
            continue
        repeated = type_str.startswith("[]")
        elem_type = type_str[2:] if repeated else type_str
        if repeated and wire_type == wire.LEN and elem_type in _PACKABLE:
            items = _unpack(elem_type, _as_bytes(value, json_name))
            out.setdefault(json_name, []).extend(items)
            continue
        decoded = _decode_value(elem_type, wire_type, value, json_name)
        if json_name == "":
            out.update(decoded)  # embedded struct: its fields appear inline
        elif repeated:
            out.setdefault(json_name, []).append(decoded)
        elif decoded is None:
            continue
        elif elem_type not in _SCALARS or json_name in pointers or not _is_zero(decoded):
            out[json_name] = decoded
    for json_name, zero in ALWAYS.get(name, {}).items():
        out.setdefault(json_name, zero)  # Go's JSON writes these even when zero or unsent
    return out


def _is_zero(value: Any) -> bool:
    return any(value == z and type(value) is type(z) for z in _ZERO_SCALARS)


def _as_bytes(value: int | bytes, field: str) -> bytes:
    if not isinstance(value, bytes):
        raise ValueError(f"field {field}: expected a length-delimited value")
    return value


def _decode_value(type_str: str, wire_type: int, value: int | bytes, field: str) -> Any:
    if type_str == "string":
        try:
            return _as_bytes(value, field).decode()
        except UnicodeDecodeError as e:
            raise ValueError(f"field {field}: invalid UTF-8") from e
    if type_str == "bytes":
        return base64.b64encode(_as_bytes(value, field)).decode()
    if type_str in MESSAGES or type_str in SPECIAL:
        return decode_message(type_str, _as_bytes(value, field))
    if isinstance(value, bytes):
        raise ValueError(f"field {field}: expected a {type_str}, got length-delimited bytes")
    if type_str == "bool":
        return value != 0
    if type_str in _INT_BITS:
        return wire.signed(value, _INT_BITS[type_str]) if type_str.startswith("int") else value
    if type_str == "double":
        if wire_type != wire.FIXED64:
            raise ValueError(f"field {field}: expected a double")
        return wire.as_double(value)
    raise ValueError(f"field {field}: unsupported type {type_str}")


_PACKABLE = {"bool", "int32", "int64", "uint32", "uint64"}


def _unpack(type_str: str, data: bytes) -> list[Any]:
    items: list[Any] = []
    pos = 0
    while pos < len(data):
        value, pos = wire.read_varint(data, pos)
        items.append(_decode_value(type_str, wire.VARINT, value, "packed"))
    return items


def _decode_map_entry(key_type: str, value_type: str, data: bytes) -> tuple[str, Any]:
    key: Any = ""
    item: Any = _ZERO.get(value_type, {})
    for number, wire_type, value in wire.iter_fields(data):
        if number == 1:
            key = _decode_value(key_type, wire_type, value, "map key")
        elif number == 2:
            item = _decode_value(value_type, wire_type, value, "map value")
    return str(key), item


_ZERO: dict[str, Any] = {"string": "", "bytes": "", "resource.Quantity": "0"}


def _decode_time(data: bytes, micro: bool) -> str | None:
    seconds = nanos = 0
    for number, _, value in wire.iter_fields(data):
        if isinstance(value, bytes):
            raise ValueError("malformed Time")
        if number == 1:
            seconds = wire.signed(value)
        elif number == 2:
            nanos = wire.signed(value, 32)
    if not data:
        return None  # Go writes the zero time as an empty message; JSON says null
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as e:
        raise ValueError("Time out of range") from e
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos // 1000:06d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _decode_int_or_string(data: bytes) -> int | str:
    fields = decode_message_plain("intstr.IntOrString", data)
    if fields.get("type", 0) == 1:
        return str(fields.get("strVal", ""))
    return int(fields.get("intVal", 0))


def _decode_quantity(data: bytes) -> str:
    return str(decode_message_plain("resource.Quantity", data).get("string", "0"))


def _decode_raw_json(data: bytes) -> Any:
    raw = b""
    for number, _, value in wire.iter_fields(data):
        if number == 1 and isinstance(value, bytes):
            raw = value
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as e:
        raise ValueError("embedded object is not JSON") from e


def decode_message_plain(name: str, data: bytes) -> dict[str, Any]:
    """Decode by the table alone, bypassing SPECIAL (used inside the special decoders)."""
    table = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, wire_type, value in wire.iter_fields(data):
        if number in table:
            json_name, type_str = table[number]
            out[json_name] = _decode_value(type_str, wire_type, value, json_name)
    return out


# -- encoding (for tests and tools) -------------------------------------------------------


def encode_message(name: str, obj: Any) -> bytes:
    """Encode the JSON value `obj` as a message of type `name`, as Go's generated code does."""
    special = SPECIAL.get(name)
    if special is not None:
        return special[1](obj)
    table = MESSAGES[name]
    pointers = POINTERS.get(name, _NO_FIELDS)
    out = bytearray()
    for number, (json_name, type_str) in sorted(table.items()):
        if json_name == "":
            out += wire.len_field(number, encode_message(type_str, obj))
            continue
        value = obj.get(json_name)
        if value is None and type_str in _SCALARS and json_name not in pointers:
            value = _SCALARS[type_str]  # as Go: a non-pointer scalar is always written
        if value is None:
            continue
        if type_str.startswith("map["):
            key_type, value_type = type_str[4:].split("]", 1)
            for key, item in value.items():
                entry = _encode_value(1, key_type, key) + _encode_value(2, value_type, item)
                out += wire.len_field(number, entry)
        elif type_str.startswith("[]"):
            for item in value:
                out += _encode_value(number, type_str[2:], item)
        else:
            out += _encode_value(number, type_str, value)
    return bytes(out)


def _encode_value(number: int, type_str: str, value: Any) -> bytes:
    if type_str == "string":
        return wire.len_field(number, str(value).encode())
    if type_str == "bytes":
        return wire.len_field(number, base64.b64decode(value))
    if type_str == "bool":
        return wire.varint_field(number, int(bool(value)))
    if type_str in _INT_BITS:
        return wire.varint_field(number, int(value))
    if type_str == "double":
        return wire.double_field(number, float(value))
    return wire.len_field(number, encode_message(type_str, value))


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _encode_time(value: str) -> bytes:
    match = _RFC3339.match(value)
    if not match:
        raise ValueError(f"invalid time {value!r}")
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    moment = datetime.fromisoformat(match.group(1) + zone)
    fraction = match.group(2) or ".0"
    nanos = int((fraction[1:] + "000000000")[:9])
    out = wire.varint_field(1, int(moment.timestamp()))
    return out + (wire.varint_field(2, nanos) if nanos else b"")


def _encode_int_or_string(value: int | str) -> bytes:
    if isinstance(value, str):
        return wire.varint_field(1, 1) + wire.len_field(3, value.encode())
    return wire.varint_field(1, 0) + wire.varint_field(2, value)


def _encode_raw_json(value: Any) -> bytes:
    return wire.len_field(1, json.dumps(value, separators=(",", ":")).encode())


SPECIAL: dict[str, tuple[Callable[[bytes], Any], Callable[[Any], bytes]]] = {
    "meta.v1.Time": (lambda d: _decode_time(d, False), _encode_time),
    "meta.v1.MicroTime": (lambda d: _decode_time(d, True), _encode_time),
    "intstr.IntOrString": (_decode_int_or_string, _encode_int_or_string),
    "resource.Quantity": (_decode_quantity, lambda v: wire.len_field(1, str(v).encode())),
    "runtime.RawExtension": (_decode_raw_json, _encode_raw_json),
    "meta.v1.FieldsV1": (_decode_raw_json, _encode_raw_json),
}
