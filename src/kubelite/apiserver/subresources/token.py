"""serviceaccounts/NAME/token: the TokenRequest API (the tokens themselves: `tokens.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kubelite.api import status as st
from kubelite.apiserver.decoding import check_shape
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.responses import json_response
from kubelite.apiserver.tokens import TOKEN_REQUEST, create_token, issuer_of

if TYPE_CHECKING:
    from kubelite.apiserver.handlers import ResourceHandlers


async def serve(handlers: ResourceHandlers, request: web.Request, path: ResourcePath) -> web.Response:
    """POST serviceaccounts/NAME/token: a signed token for the account (201)."""
    if request.method != "POST":
        raise st.MethodNotAllowed("the server does not allow this method on the requested resource")
    assert path.name is not None and path.namespace is not None
    body = await handlers.object_body(request, path)
    check_shape(body, TOKEN_REQUEST)
    issued = await create_token(handlers.store, issuer_of(handlers), path.namespace, path.name, body)
    return json_response(issued, 201)
