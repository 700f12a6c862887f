r"""JSON responses as kube-apiserver writes them: Go's json.Encoder ends every body with a
newline and writes <, > and & inside strings as \u003c, \u003e and \u0026, which clients
comparing bodies textually expect."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubelite.apiserver import objects
from kubelite.apiserver.warning_headers import warning_headers

JSON = "application/json"
_HTML = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"))


def escape_html(data: bytes) -> bytes:
    """JSON bytes with <, > and & escaped as Go escapes them (these characters can stand only
    inside strings, so a byte replace is exact)."""
    for char, escaped in _HTML:
        if char in data:
            data = data.replace(char, escaped)
    return data


def go_json(data: bytes) -> bytes:
    """JSON bytes as Go's json.Encoder would write them: escaped, newline-terminated."""
    data = escape_html(data)
    return data if data.endswith(b"\n") else data + b"\n"


def json_response(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    data = go_json(body if isinstance(body, bytes) else objects.encode(body))
    response = web.Response(body=data, status=status, content_type=JSON)
    for header in warning_headers(warnings or ()):
        response.headers.add("Warning", header)
    return response
