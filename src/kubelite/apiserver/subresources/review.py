"""SelfSubjectAccessReview: answered, never stored (kubelite authorizes every user fully)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kubelite.apiserver.decoding import check_shape
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.responses import json_response

if TYPE_CHECKING:
    from kubelite.apiserver.handlers import ResourceHandlers

REASON = "kubelite grants every authenticated user full access"


async def serve(handlers: ResourceHandlers, request: web.Request, path: ResourcePath) -> web.Response:
    """POST of a review: the same object back with its status filled in (201)."""
    body = await handlers.object_body(request, path)
    check_shape(body, path.kind.definition)
    body.setdefault("metadata", {})
    body["status"] = {"allowed": True, "reason": REASON}
    return json_response(body, 201)
