"""JSON responses as kube-apiserver writes them: Go's json.Encoder ends every body with a
newline, which clients comparing bodies textually expect."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubelite.apiserver import objects
from kubelite.apiserver.warning_headers import warning_headers

JSON = "application/json"


def json_response(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    data = body if isinstance(body, bytes) else objects.encode(body)
    if not data.endswith(b"\n"):
        data += b"\n"
    response = web.Response(body=data, status=status, content_type=JSON)
    for header in warning_headers(warnings or ()):
        response.headers.add("Warning", header)
    return response
