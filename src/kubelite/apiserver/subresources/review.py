"""The authorization reviews (SubjectAccessReview, SelfSubjectAccessReview,
LocalSubjectAccessReview, SelfSubjectRulesReview): answered by the authorizer chain
(apiserver/authz/reviews.py), never stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kubelite.apiserver.authz import reviews
from kubelite.apiserver.decoding import check_shape
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.responses import json_response

if TYPE_CHECKING:
    from kubelite.apiserver.handlers import ResourceHandlers


async def serve(handlers: ResourceHandlers, request: web.Request, path: ResourcePath) -> web.Response:
    """POST of a review: the same object back with its status filled in (201)."""
    body = await handlers.object_body(request, path)
    check_shape(body, path.kind.definition)
    chain = getattr(handlers, "authorizer", None)  # set by the server where it authorizes
    return json_response(reviews.answer(path.kind, body, chain, path.namespace or ""), 201)
