"""SelfSubjectReview (`kubectl auth whoami`): the API server tells a client who it is.

Served as a plain POST route: the request body carries nothing (Kubernetes ignores it too)
and the answer is the authenticated user as the authenticators saw it. v1 since 1.28;
kubectl 1.27 asks v1alpha1, then v1beta1.
"""

from __future__ import annotations

from aiohttp import web

from kubelite.apiserver.auth import User
from kubelite.apiserver.handlers import json_response


def review(user: User, version: str = "v1") -> dict[str, object]:
    """A SelfSubjectReview whose status is `user` (Kubernetes' UserInfo shape)."""
    return {"kind": "SelfSubjectReview", "apiVersion": f"authentication.k8s.io/{version}",
            "metadata": {"creationTimestamp": None}, "status": {"userInfo": user.info()}}


def add_route(router: web.UrlDispatcher, user_key: web.RequestKey[User]) -> None:
    """POST .../selfsubjectreviews answers the request's user (before the generic /apis routes)."""
    async def whoami(request: web.Request) -> web.Response:
        user = request.get(user_key) or User("system:anonymous", ("system:unauthenticated",))
        return json_response(review(user, request.match_info["version"]), 201)

    router.add_post("/apis/authentication.k8s.io/{version:v1|v1beta1|v1alpha1}/selfsubjectreviews", whoami)
