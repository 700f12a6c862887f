"""The gnostic `openapi.v2.Document` protobuf encoding of a swagger 2.0 document.

kubectl 1.27/1.28 fetch /openapi/v2 only as
`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`. Field numbers are those
of google/gnostic openapiv2/OpenAPIv2.proto. `Any` values (vendor extensions, enum
values) carry YAML text; JSON is valid YAML, so they are written as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from kubelite.api.protobuf.wire import len_field, varint_field

# What kubectl asks for, and what kube-openapi answers: Go's mime parser rejects the "@".
ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _s(number: int, value: str) -> bytes:
    return len_field(number, value.encode()) if value else b""


def _b(number: int, value: bool) -> bytes:
    return varint_field(number, 1) if value else b""


def _any(value: Any) -> bytes:
    """An openapi.v2.Any holding `value` as YAML (field 2)."""
    return len_field(2, json.dumps(value, separators=(",", ":")).encode())


def _named_any(number: int, name: str, value: Any) -> bytes:
    return len_field(number, _s(1, name) + len_field(2, _any(value)))


def _extensions(number: int, obj: dict[str, Any]) -> bytes:
    return b"".join(_named_any(number, k, v) for k, v in obj.items() if k.startswith("x-"))


def schema(s: dict[str, Any]) -> bytes:
    out = bytearray()
    out += _s(1, s.get("$ref", ""))
    out += _s(2, s.get("format", ""))
    out += _s(4, s.get("description", ""))
    out += _b(16, bool(s.get("uniqueItems")))
    for name in s.get("required", []):
        out += _s(19, name)
    for value in s.get("enum", []):
        out += len_field(20, _any(value))
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        out += len_field(21, len_field(1, schema(extra)))
    elif extra is True:
        out += len_field(21, varint_field(2, 1))
    if "type" in s:
        out += len_field(22, _s(1, s["type"]))
    if "items" in s:
        out += len_field(23, len_field(1, schema(s["items"])))
    for sub in s.get("allOf", []):
        out += len_field(24, schema(sub))
    if "properties" in s:
        props = b"".join(len_field(1, _s(1, k) + len_field(2, schema(v))) for k, v in s["properties"].items())
        out += len_field(25, props)
    out += _b(27, bool(s.get("readOnly")))
    out += _extensions(31, s)
    return bytes(out)


def _parameter(p: dict[str, Any]) -> bytes:
    """A ParametersItem{parameter: Parameter{body | non_body{query | path}}}."""
    if p["in"] == "body":
        body = (_s(1, p.get("description", "")) + _s(2, p["name"]) + _s(3, "body")
                + _b(4, bool(p.get("required"))) + len_field(5, schema(p["schema"])))
        parameter = len_field(1, body)
    else:
        common = (_b(1, bool(p.get("required"))) + _s(2, p["in"]) + _s(3, p.get("description", ""))
                  + _s(4, p["name"]))
        if p["in"] == "path":
            sub = common + _s(5, p.get("type", "")) + _b(19, bool(p.get("uniqueItems")))
            parameter = len_field(2, len_field(4, sub))
        else:
            sub = common + _s(6, p.get("type", "")) + _b(20, bool(p.get("uniqueItems")))
            parameter = len_field(2, len_field(3, sub))
    return len_field(1, parameter)


def _operation(op: dict[str, Any]) -> bytes:
    out = bytearray()
    for t in op.get("tags", []):
        out += _s(1, t)
    out += _s(3, op.get("description", ""))
    out += _s(5, op.get("operationId", ""))
    for media in op.get("produces", []):
        out += _s(6, media)
    for media in op.get("consumes", []):
        out += _s(7, media)
    for p in op.get("parameters", []):
        out += len_field(8, _parameter(p))
    codes = bytearray()
    for code, response in op.get("responses", {}).items():
        body = _s(1, response.get("description", ""))
        if "schema" in response:
            body += len_field(2, len_field(1, schema(response["schema"])))
        codes += len_field(1, _s(1, code) + len_field(2, len_field(1, body)))
    out += len_field(9, bytes(codes))
    for scheme in op.get("schemes", []):
        out += _s(10, scheme)
    out += _extensions(13, op)
    return bytes(out)


_METHOD_FIELDS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _path_item(item: dict[str, Any]) -> bytes:
    out = bytearray()
    for method, number in _METHOD_FIELDS.items():
        if method in item:
            out += len_field(number, _operation(item[method]))
    for p in item.get("parameters", []):
        out += len_field(9, _parameter(p))
    out += _extensions(10, item)
    return bytes(out)


def document(doc: dict[str, Any]) -> bytes:
    """Encode a swagger 2.0 dict (as built by openapi_v2()) as openapi.v2.Document."""
    info = doc.get("info", {})
    out = bytearray(_s(1, doc.get("swagger", "2.0")))
    out += len_field(2, _s(1, info.get("title", "")) + _s(2, info.get("version", "")))
    paths = b"".join(len_field(2, _s(1, name) + len_field(2, _path_item(item)))
                     for name, item in doc.get("paths", {}).items())
    out += len_field(8, paths)
    defs = b"".join(len_field(1, _s(1, name) + len_field(2, schema(s)))
                    for name, s in doc.get("definitions", {}).items())
    out += len_field(9, defs)
    return bytes(out)
