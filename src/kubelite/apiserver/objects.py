"""How objects sit in the store: keys, and JSON bytes whose resourceVersion is the revision.

Stored bytes never carry `metadata.resourceVersion`: it is the store revision, so it is
injected on the way out. Objects are always encoded from their msgspec type, which puts
`apiVersion`, `kind` and `metadata` first, so the injection is a byte splice rather than
a decode and re-encode (a LIST of 100,000 pods never parses them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from kubelite.api.registry import Kind

REGISTRY_PREFIX = "/registry/"
_METADATA = b'"metadata":{'
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def group_segment(kind: Kind) -> str:
    return kind.group or "core"


def collection_prefix(kind: Kind, namespace: str | None) -> str:
    """The key prefix of every object of `kind` (in `namespace`, when given)."""
    base = f"{REGISTRY_PREFIX}{group_segment(kind)}/{kind.plural}/"
    if kind.namespaced and namespace:
        return f"{base}{namespace}/"
    return base


def object_key(kind: Kind, namespace: str | None, name: str) -> str:
    if kind.namespaced:
        return f"{REGISTRY_PREFIX}{group_segment(kind)}/{kind.plural}/{namespace}/{name}"
    return f"{REGISTRY_PREFIX}{group_segment(kind)}/{kind.plural}/{name}"


def parse_key(key: str) -> tuple[str, str, str, str]:
    """(group segment, plural, namespace or "", name) of a store key."""
    parts = key[len(REGISTRY_PREFIX) :].split("/")
    if len(parts) == 4:
        return parts[0], parts[1], parts[2], parts[3]
    return parts[0], parts[1], "", parts[2]


def with_resource_version(data: bytes, revision: int) -> bytes:
    """Stored bytes with `metadata.resourceVersion` set to `revision`."""
    at = data.find(_METADATA)
    if at < 0:
        return data
    at += len(_METADATA)
    return b"%s\"resourceVersion\":\"%d\",%s" % (data[:at], revision, data[at:])


def encode_for_store(obj: msgspec.Struct) -> bytes:
    """Encode an object with its resourceVersion cleared (the store revision replaces it)."""
    meta = getattr(obj, "metadata", None)
    saved = None
    if meta is not None:
        saved = meta.resource_version
        meta.resource_version = None
    try:
        return _encoder.encode(obj)
    finally:
        if meta is not None:
            meta.resource_version = saved


def decode(data: bytes) -> dict[str, Any]:
    result: dict[str, Any] = _decoder.decode(data)
    return result


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def to_struct(kind: Kind, obj: dict[str, Any]) -> msgspec.Struct:
    return msgspec.convert(obj, kind.type)


def to_dict(obj: msgspec.Struct) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(obj)
    return result


def served_version(kind: Kind) -> Callable[[bytes], bytes] | None:
    """How stored bytes leave as `kind` when objects of its custom kind may be stored in
    another version (conversion None: only apiVersion changes); None when they always leave
    as stored. Encoding puts apiVersion first, so this is a splice, not a re-encode."""
    info = kind.custom
    if info is None or not info.rewrites_api_version:
        return None
    head = b'{"apiVersion":"'
    served = b'%s%s"' % (head, kind.api_version.encode())

    def convert(data: bytes) -> bytes:
        if data.startswith(served) or not data.startswith(head):
            return data
        end = data.find(b'"', len(head))
        return served + data[end + 1:] if end > 0 else data

    return convert


def as_served(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    """A decoded stored object with the apiVersion it is served in."""
    if kind.custom is not None:
        obj["apiVersion"] = kind.api_version
    return obj
