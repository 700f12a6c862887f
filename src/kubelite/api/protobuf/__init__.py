"""Kubernetes protobuf request bodies (Content-Type application/vnd.kubernetes.protobuf).

kubectl >= 1.32 sends them for `create configmap|secret|namespace|deployment|service`
and `auth can-i`, with no JSON fallback. The body is the magic `k8s\\x00` followed by a
runtime.Unknown envelope {typeMeta {apiVersion, kind}, raw, contentEncoding,
contentType} whose `raw` is the object in the k8s.io/api generated.proto layout.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import registry
from kubelite.api.protobuf import wire
from kubelite.api.protobuf.codec import decode_message, encode_message
from kubelite.api.protobuf.tables import MESSAGES

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

__all__ = ["CONTENT_TYPE", "MAGIC", "decode_k8s_protobuf", "encode_k8s_protobuf", "message_name"]

# Types sent in bodies that are not kinds of the registry.
_META_TYPES = {
    ("meta.k8s.io/v1", "DeleteOptions"): "meta.v1.DeleteOptions",
    ("v1", "DeleteOptions"): "meta.v1.DeleteOptions",
    ("v1", "Status"): "meta.v1.Status",
}


def message_name(api_version: str, kind: str) -> str | None:
    """The tables' message name for apiVersion/kind, e.g. ("v1", "Pod") -> "core.v1.Pod"."""
    if (api_version, kind) in _META_TYPES:
        return _META_TYPES[(api_version, kind)]
    group, _, version = api_version.rpartition("/")
    found = registry.by_kind(group, version, kind)
    definition = found.definition if found else registry.SUBRESOURCE_TYPES.get((group, version, kind))
    if not definition:
        return None
    name = definition.removeprefix("io.k8s.api.")
    return name if name in MESSAGES else None


def decode_k8s_protobuf(body: bytes) -> dict[str, Any]:
    """Decode a protobuf request body into the dict its JSON form would give.

    Raises ValueError for a missing magic, an unknown type, or malformed bytes.
    """
    if not body.startswith(MAGIC):
        raise ValueError("protobuf body does not start with the k8s magic number")
    api_version = kind = ""
    raw = b""
    encoding = ""
    for number, _, value in wire.iter_fields(body[len(MAGIC):]):
        if not isinstance(value, bytes):
            continue
        if number == 1:
            for sub, _, sub_value in wire.iter_fields(value):
                if sub in (1, 2) and isinstance(sub_value, bytes):
                    if sub == 1:
                        api_version = _text(sub_value)
                    else:
                        kind = _text(sub_value)
        elif number == 2:
            raw = value
        elif number == 3:
            encoding = _text(value)
    if encoding:
        raise ValueError(f"unsupported protobuf content encoding {encoding!r}")
    name = message_name(api_version, kind)
    if name is None:
        raise ValueError(f"no protobuf decoding for {api_version}/{kind}")
    obj = decode_message(name, raw)
    return {"apiVersion": api_version, "kind": kind, **obj}


def encode_k8s_protobuf(obj: dict[str, Any]) -> bytes:
    """Encode a JSON-form object as kubectl would send it (magic + runtime.Unknown)."""
    api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    name = message_name(api_version, kind)
    if name is None:
        raise ValueError(f"no protobuf encoding for {api_version}/{kind}")
    type_meta = wire.len_field(1, api_version.encode()) + wire.len_field(2, kind.encode())
    raw = encode_message(name, obj)
    return MAGIC + wire.len_field(1, type_meta) + wire.len_field(2, raw) + wire.len_field(3, b"") + wire.len_field(4, b"")


def _text(value: bytes) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError as e:
        raise ValueError("invalid UTF-8 in protobuf envelope") from e
