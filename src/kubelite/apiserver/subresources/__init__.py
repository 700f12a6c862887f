"""Subresources and kinds with handlers of their own, in one table.

Kubernetes gives each such endpoint its own REST storage beside the kind's generic store
(pods/binding, pods/eviction, deployments/scale, serviceaccounts/token...). Here each is one
module with a `serve(handlers, request, path)`, and `SUBRESOURCES` names them all: a reader
finds any of them in one hop. `status` and `finalize` are no entries: they are the generic
get/update/patch with the kind's status (or finalize) strategy from `api/strategy`. Kinds
that are never stored (a Binding or a SelfSubjectAccessReview POSTed to their collection)
say which handler serves them with their strategy's `served_by`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from kubelite.api import status as st
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.subresources import binding, eviction, review, scale, token

if TYPE_CHECKING:
    from kubelite.apiserver.handlers import ResourceHandlers

Handler = Callable[["ResourceHandlers", web.Request, ResourcePath], Awaitable[web.StreamResponse]]


async def kubelet_proxy(handlers: ResourceHandlers, request: web.Request,
                        path: ResourcePath) -> web.StreamResponse:
    """log, exec, attach, portforward and proxy: streamed to the node agent's own server."""
    if handlers.subresources is None:
        raise st.ServiceUnavailable(f"{path.subresource} is not available: no node agent proxy is configured")
    response: web.StreamResponse = await handlers.subresources.handle(request, path)
    return response


SUBRESOURCES: dict[str, Handler] = {
    "binding": binding.serve,
    "eviction": eviction.serve,
    "scale": scale.serve,
    "token": token.serve,
    "log": kubelet_proxy,
    "exec": kubelet_proxy,
    "attach": kubelet_proxy,
    "portforward": kubelet_proxy,
    "proxy": kubelet_proxy,
}

# Strategy.served_by -> the handler a POST to that kind's collection goes to
SERVED_BY: dict[str, Handler] = {
    "binding": binding.serve,
    "access-review": review.serve,
}
