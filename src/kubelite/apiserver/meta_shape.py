"""ObjectMeta's shape checked before anything reads it, with Go's decoding words.

Kubernetes decodes a body into its Go type first, so `"metadata": 400` or `"name": []` fail
there as a 400 ("cannot be handled as a Pod: json: cannot unmarshal ..."). Here the body is
read as a dict in places before it is converted to its type; this check runs first so those
reads never meet the wrong type.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import status as st
from kubelite.api.registry import Kind

_STRING_FIELDS = ("name", "generateName", "namespace", "uid", "resourceVersion")
_MAP_FIELDS = ("labels", "annotations")


def _json_type(value: Any) -> str:
    """The JSON type name Go's decoder uses in its messages."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def check_meta_shape(kind: Kind, body: dict[str, Any]) -> None:
    """400 BadRequest when metadata, or one of its plain fields, has the wrong JSON type."""
    meta = body.get("metadata")
    if meta is None:
        return
    if not isinstance(meta, dict):
        _refuse(kind, meta, "metadata", "v1.ObjectMeta")
    for field in _STRING_FIELDS:
        value = meta.get(field)
        if value is not None and not isinstance(value, str):
            _refuse(kind, value, f"metadata.{field}", "string")
    for field in _MAP_FIELDS:
        value = meta.get(field)
        if value is None:
            continue
        if not isinstance(value, dict):
            _refuse(kind, value, f"metadata.{field}", "map[string]string")
        for v in value.values():
            if v is not None and not isinstance(v, str):
                _refuse(kind, v, f"metadata.{field}", "string")


def _refuse(kind: Kind, value: Any, field: str, go_type: str) -> None:
    raise st.BadRequest(
        f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}: json: '
        f"cannot unmarshal {_json_type(value)} into Go struct field ObjectMeta.{field} of type {go_type}"
    )
