"""Request bodies to typed objects, refusing a wrong shape as Kubernetes does.

A value of the wrong JSON type is a 400 BadRequest in the words of the API server's
transformDecodeError (`Binding in version "v1" cannot be handled as a Binding: json: cannot
unmarshal string into Go struct field Binding.target of type v1.ObjectReference`); a missing
required field is a 422 Invalid. Object bodies are converted here (`convert_body`); the
bodies of subresources and options, read as dicts, are checked here (`check_shape`) before a
handler touches them, so a wrong type never reaches code that assumes the right one.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
import yaml

from kubelite.api import status as st
from kubelite.api.decoding import DecodeError, decode_json, decode_yaml
from kubelite.api.unmarshal import first_type_error

T = TypeVar("T")

_MISSING_FIELD = re.compile(r"Object missing required field `([^`]+)`(?: - at `\$(.*)`)?")
_AT = re.compile(r"(.*?)(?: - at `(\$.*)`)?$")


def _json_path(path: str) -> str:
    """msgspec's `$.spec.containers[0]` -> Kubernetes' `spec.containers[0]`."""
    return path.removeprefix("$").lstrip(".")


def decode_error(
    err: msgspec.ValidationError, body: Any, *, kind: str, version: str, definition: str,
    name: str = "", group: str = "",
) -> st.ApiError:
    """The Status for a body `kind` (described by `definition`) could not be converted to."""
    wrong_type = first_type_error(definition, body) if definition else None
    if wrong_type:  # Go's decoder meets a wrong type before validation misses a field
        return _cannot_handle(kind, version, wrong_type)
    text = str(err)
    missing = _MISSING_FIELD.match(text)
    if missing:
        parent = _json_path(missing.group(2) or "")
        path = f"{parent}.{missing.group(1)}" if parent else missing.group(1)
        cause = {"reason": "FieldValueRequired", "message": "Required value", "field": path}
        return st.Invalid(
            f'{kind} "{name}" is invalid: {path}: Required value',
            name=name, group=group, kind=kind, causes=[cause],
        )
    return _cannot_handle(kind, version, _msgspec_detail(text))


def _msgspec_detail(text: str) -> str:
    """msgspec's `Expected X, got Y - at `$.a.b`` as `Expected X, got Y at a.b`."""
    match = _AT.match(text)
    if match is None or not match.group(2):
        return text
    return f"{match.group(1)} at {_json_path(match.group(2))}"


def _cannot_handle(kind: str, version: str, detail: str) -> st.BadRequest:
    return st.BadRequest(f'{kind} in version "{version}" cannot be handled as a {kind}: {detail}')


def convert_body(
    body: Any, type_: type[T], *, kind: str, version: str, definition: str,
    name: str = "", group: str = "",
) -> T:
    """`body` as `type_` (a kind's generated struct), or the Status Kubernetes answers."""
    try:
        return msgspec.convert(body, type_)
    except msgspec.ValidationError as e:
        raise decode_error(e, body, kind=kind, version=version, definition=definition,
                           name=name, group=group) from None


def check_shape(body: dict[str, Any], definition: str) -> None:
    """Refuse a body with a value of the wrong JSON type for its field, as Go's decoder would.

    For the bodies of subresources and options (Eviction, Binding, Scale, DeleteOptions...),
    which handlers read as plain dicts: after this, each field has its schema's JSON type.
    """
    detail = first_type_error(definition, body)
    if detail:
        version, kind = definition.split(".")[-2:]
        raise _cannot_handle(kind, version, detail)


# What Go's json.Unmarshal says when a body is no object (SimpleMetaFactory.Interpret reads
# apiVersion and kind into this anonymous struct first).
_TYPE_META_STRUCT = ('struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
                     'Kind string "json:\\"kind,omitempty\\"" }')
_GO_JSON_TYPES = {list: "array", str: "string", bool: "bool", int: "number", float: "number"}


def _summary(raw: bytes, limit: int = 30) -> str:
    """summarizeData: the body's start as text when it looks like JSON, else in hex."""
    if not raw:
        return "<empty>"
    more = " ..." if len(raw) > limit else ""
    if raw[:1] == b"{":
        return raw[:limit].decode("utf-8", "replace") + more
    return raw[:limit].hex() + more


def _json_parse_error(raw: bytes) -> str:
    """Go's encoding/json words for why `raw` is no JSON object."""
    text = raw.strip()
    if not text:
        return "unexpected end of JSON input"
    first = chr(text[0])
    if first not in '{["-0123456789tfn':
        return f"invalid character {first!r} looking for beginning of value"
    try:
        value = decode_json(text)  # bounded: a body nested too deep says so, never recurses
    except (DecodeError, ValueError) as e:
        return "unexpected end of JSON input" if "truncated" in str(e) else str(e)
    got = "bool" if isinstance(value, bool) else _GO_JSON_TYPES.get(type(value), "null")
    return f"json: cannot unmarshal {got} into Go value of type {_TYPE_META_STRUCT}"


def unrecognized_body(kind: str, raw: bytes, content_type: str) -> st.BadRequest:
    """transformDecodeError for a body whose apiVersion and kind cannot even be read."""
    if "yaml" in content_type:
        try:
            as_json = msgspec.json.encode(decode_yaml(raw))  # bounded: alias bombs refused
        except (DecodeError, yaml.YAMLError, ValueError, TypeError) as e:
            words = str(e).splitlines()[0] if str(e) else type(e).__name__
            detail = f"error converting YAML to JSON: {words}"
        else:
            detail = f"couldn't get version/kind; json parse error: {_json_parse_error(as_json)}"
    else:
        detail = f"couldn't get version/kind; json parse error: {_json_parse_error(raw)}"
    return st.BadRequest(
        f"the object provided is unrecognized (must be of type {kind}): {detail} ({_summary(raw)})")
