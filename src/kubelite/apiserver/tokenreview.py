"""TokenReview: a client (a webhook, a proxy, an add-on) asks the API server who a bearer
token belongs to, as kube-apiserver's `pkg/registry/authentication/tokenreview` answers.

The review is not stored: the answer is the request with `status` filled in (201 Created).
Only bearer tokens are reviewed (admin and node tokens, service account JWTs), never the
caller's own credentials. With no `spec.audiences` the token is checked for the API
server's audiences, and `status.audiences` says which ones it is valid for.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from kubelite.api import status as st
from kubelite.api.registry import by_kind
from kubelite.apiserver.auth import TokenAuthenticator
from kubelite.apiserver.decoding import check_shape
from kubelite.apiserver.handlers import JSON, json_response
from kubelite.apiserver.negotiation import MAX_BODY, decode_body

PATH = "/apis/authentication.k8s.io/v1/tokenreviews"
TOKEN_REQUIRED = "token is required for TokenReview in authentication"
_KIND = by_kind("authentication.k8s.io", "v1", "TokenReview")


def answer(review: dict[str, Any], authenticator: TokenAuthenticator | None) -> dict[str, Any]:
    """`review` (a TokenReview body, shape-checked) with its status; BadRequest without a token."""
    meta = review.get("metadata") or {}
    if meta.get("namespace"):
        raise st.BadRequest(f"namespace is not allowed on this type: {meta['namespace']}")
    spec = review.get("spec") or {}
    token = spec.get("token") or ""
    if not token:
        raise st.BadRequest(TOKEN_REQUIRED)
    result = {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",  # kube's key order
              "metadata": {**meta, "creationTimestamp": None}, "spec": spec}
    if authenticator is None:  # a server without authentication reviews nothing
        return result
    found = authenticator.review(token, [str(a) for a in spec.get("audiences") or []])
    status: dict[str, Any] = {}
    if found.user is not None:
        status["authenticated"] = True
    # Go's UserInfo is a struct, never omitted: an unknown token gets `"user": {}`.
    status["user"] = found.user.info() if found.user is not None else {}
    if found.user is not None:
        status["audiences"] = found.audiences
    if found.error:
        status["error"] = found.error
    result["status"] = status
    return result


def add_route(router: web.UrlDispatcher, authenticator: TokenAuthenticator | None) -> None:
    """POST /apis/authentication.k8s.io/v1/tokenreviews (before the generic /apis routes)."""
    assert _KIND is not None

    async def token_review(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise st.RequestEntityTooLarge("the request body is too large: limit is 3 MiB")
        body = decode_body(await request.read(), request.headers.get("Content-Type", JSON))
        if not isinstance(body, dict):
            raise st.BadRequest("the request body must be a JSON object")
        check_shape(body, _KIND.definition)
        return json_response(answer(body, authenticator), 201)

    router.add_post(PATH, token_review)
