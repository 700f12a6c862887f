"""The aiohttp application: middlewares (auth, errors, metrics) and routes."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from kubelite.api import status as st
from kubelite.apiserver import discovery, request_context, storeerrors, tokenreview, whoami
from kubelite.apiserver import metrics_api as metrics_api_mod
from kubelite.apiserver.audit import Auditor, annotate
from kubelite.apiserver.auth import (
    PUBLIC_PATHS,
    TokenAuthenticator,
    User,
    certificate_user,
    websocket_bearer,
)
from kubelite.apiserver.authz import UserInfo
from kubelite.apiserver.authz import filter as authz_filter
from kubelite.apiserver.authz.chain import AuthorizerChain
from kubelite.apiserver.handlers import RESOURCE, WATCH, ResourceHandlers, json_response
from kubelite.apiserver.metrics import Metrics, verb_of
from kubelite.apiserver.views import add_view_routes
from kubelite.store.interface import StoreError

log = logging.getLogger("kubelite.apiserver")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Checks run on every authenticated request before its handler (NodeRestriction's URL checks):
# they raise an ApiError to refuse.
Guard = Callable[[web.Request, User], Awaitable[None]]
USER = web.RequestKey("user", User)


def status_response(err: st.ApiError) -> web.Response:
    response = json_response(err.status(), err.code)
    retry = err.details.get("retryAfterSeconds")
    if retry:  # as Kubernetes' ErrorNegotiated: the Status's retry delay as a header too
        response.headers["Retry-After"] = str(retry)
    return response


def build_app(
    handlers: ResourceHandlers,
    authenticator: TokenAuthenticator | None,
    metrics: Metrics,
    *,
    ready: Callable[[], bool] = lambda: True,
    extra_metrics: Callable[[], dict[str, float]] = dict,
    metrics_api: Any = None,
    join: Any = None,
    authorizer: AuthorizerChain | None = None,
    guards: Sequence[Guard] = (),
    encryption: Any = None,
    audit: Auditor | None = None,
    dashboard: Any = None,
) -> web.Application:
    @web.middleware
    async def serve(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Authentication, errors as Status objects and request metrics, in one middleware
        (each middleware layer costs a wrapper call per request)."""
        start = time.perf_counter()
        code = 500
        context = request_context.begin()
        try:
            if authenticator is not None and request.path not in PUBLIC_PATHS \
                    and not (dashboard is not None and dashboard.is_public(request.path)):
                transport = request.transport
                user = (certificate_user(transport.get_extra_info("peercert")) if transport else None) \
                    or authenticator.authenticate(request.headers.get("Authorization")
                                                  or websocket_bearer(request.headers))
                if user is None:
                    code = 401
                    return status_response(st.Unauthorized("Unauthorized"))
                request[USER] = user
                request_context.set_user(user)
                if authorizer is not None and not (dashboard is not None and dashboard.authorizes_itself(request.path)):
                    request_context.set_user(_authorize(request, user, authorizer))  # impersonation, then authorization
                for guard in guards:
                    await guard(request, request[USER])
            response = await handler(request)
            code = response.status
            request_context.write_warnings(response)  # what admission and others recorded
            return response
        except st.ApiError as e:
            code = e.code
            response = status_response(e)
            request_context.write_warnings(response)
            return response
        except StoreError as e:  # a store failure no handler translated: still a Status
            err = storeerrors.from_key(e, request.method)
            code = err.code
            if code >= 500:
                log.warning("store error serving %s %s: %s", request.method, request.path, e)
            return status_response(err)
        except web.HTTPException as e:
            code = e.status
            if e.status == 404:
                return status_response(st.NotFound("the server could not find the requested resource"))
            if e.status == 405:
                return status_response(st.MethodNotAllowed("the server does not allow this method on the requested resource"))
            if e.status == 413:
                return status_response(st.RequestEntityTooLarge("the request body is too large: limit is 3 MiB"))
            raise
        except Exception as e:  # noqa: BLE001 - every failure leaves as a Status
            log.exception("internal error serving %s %s", request.method, request.path)
            return status_response(st.InternalError(f"Internal error occurred: {e}"))
        finally:
            ctx = request_context.current()
            for key, value in (ctx.audit_annotations.items() if ctx else ()):
                annotate(request, key, value)  # what admission said, for the audit log
            request_context.end(context)
            resource = request.get(RESOURCE)
            if resource:
                verb = verb_of(request.method, "name" in request.match_info or request.path.count("/") > 4, request.get(WATCH, False))
                metrics.observe_request(verb, resource, code, time.perf_counter() - start)

    middlewares = [audit.middleware, serve] if audit is not None else [serve]
    app = web.Application(middlewares=middlewares, client_max_size=3 * 1024 * 1024 + 1)
    if audit is not None:
        audit.install(app, USER)

    async def version(request: web.Request) -> web.Response:
        return json_response(discovery.version_info())

    async def api(request: web.Request) -> web.Response:
        agg = discovery.aggregated(request.headers.get("Accept", ""), core=True)
        if agg is not None:
            body, ctype = agg
            return web.Response(body=_encode(body), headers={"Content-Type": ctype})
        return json_response(discovery.api_versions(request.host))

    async def apis(request: web.Request) -> web.Response:
        agg = discovery.aggregated(request.headers.get("Accept", ""), core=False)
        if agg is not None:
            body, ctype = agg
            if metrics_api is not None:
                metrics_api_mod.add_to_aggregated(body)
            return web.Response(body=_encode(body), headers={"Content-Type": ctype})
        doc = discovery.api_group_list()
        if metrics_api is not None:
            metrics_api_mod.add_to_group_list(doc)
        return json_response(doc)

    async def core_resources(request: web.Request) -> web.Response:
        body = discovery.api_resource_list("", request.match_info["version"])
        if body is None:
            raise st.NotFound("the server could not find the requested resource")
        return json_response(body)

    async def group_resources(request: web.Request) -> web.Response:
        body = discovery.api_resource_list(request.match_info["group"], request.match_info["version"])
        if body is None:
            raise st.NotFound("the server could not find the requested resource")
        return json_response(body)

    async def group_info(request: web.Request) -> web.Response:
        group = request.match_info["group"]
        for g in discovery.api_group_list()["groups"]:
            if g["name"] == group:
                return json_response({"kind": "APIGroup", "apiVersion": "v1", **g})
        raise st.NotFound("the server could not find the requested resource")

    async def openapi_v3_index(request: web.Request) -> web.Response:
        from kubelite.api.openapi import openapi_v3_index as index

        return json_response(index())

    async def openapi_v3_doc(request: web.Request) -> web.Response:
        from kubelite.api.openapi import openapi_v3_document

        doc = openapi_v3_document(request.match_info["path"])
        if doc is None:
            raise st.NotFound("the server could not find the requested resource")
        return web.Response(body=doc, content_type="application/json", headers={"Cache-Control": "public, immutable"} if request.query.get("hash") else {})

    async def openapi_v2(request: web.Request) -> web.Response:
        from kubelite.api.openapi import openapi_v2_json, openapi_v2_protobuf

        if "protobuf" in request.headers.get("Accept", "") or request.path.endswith(".pb-v1"):
            return web.Response(body=openapi_v2_protobuf(), content_type="application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
        return json_response(openapi_v2_json())

    async def healthz(request: web.Request) -> web.Response:
        if request.path == "/readyz" and not ready():
            return web.Response(text="[-]store not ready\nreadyz check failed\n", status=500)
        return web.Response(text="ok")

    async def metrics_endpoint(request: web.Request) -> web.Response:
        return web.Response(text=metrics.render(extra_metrics()), content_type="text/plain")

    r = app.router
    if metrics_api is not None:
        metrics_api.add_routes(r)  # before the generic /apis/{group}[/{version}] routes
    if join is not None:  # /cacerts and the node certificate endpoint (apiserver/join.py)
        join.add_routes(r)
    if encryption is not None:  # `kubelite secrets-encrypt` (apiserver/encryption.py)
        encryption.add_routes(r, USER)
    if dashboard is not None:  # /dashboard/ (apiserver/dashboard/)
        dashboard.add_routes(r, USER)
    whoami.add_route(r, USER)
    tokenreview.add_route(r, authenticator)
    # Discovery answers with and without a trailing slash, as kube-apiserver's go-restful
    # routes and its /apis/ handler do; /openapi/v2/ and /healthz/ stay 404 there too.
    for path, discovery_handler in (
        ("/version", version),
        ("/api", api),
        ("/apis", apis),
        ("/api/{version}", core_resources),
        ("/apis/{group}", group_info),
        ("/apis/{group}/{version}", group_resources),
    ):
        r.add_get(path, discovery_handler)
        r.add_get(path + "/", discovery_handler)
    r.add_get("/openapi/v3", openapi_v3_index)
    r.add_get("/openapi/v3/{path:.+}", openapi_v3_doc)
    r.add_get("/openapi/v2", openapi_v2)
    r.add_get("/swagger-2.0.0.pb-v1", openapi_v2)
    for p in ("/livez", "/readyz", "/healthz"):
        r.add_get(p, healthz)
    r.add_get("/metrics", metrics_endpoint)
    add_view_routes(r, handlers)  # kinds stored as another kind (events.k8s.io/v1 Events)
    r.add_route("*", "/api/{version}/{rest:.+}", handlers.core)
    r.add_route("*", "/apis/{group}/{version}/{rest:.+}", handlers.grouped)
    return app


def _authorize(request: web.Request, user: User, authorizer: AuthorizerChain) -> User:
    """Impersonation, then authorization, of one request (403 Forbidden if refused); the
    user it acts as becomes the request's user."""
    info = UserInfo(user.name, user.groups, user.uid, user.extra)
    acting = authz_filter.impersonate(request.headers, info, authorizer)
    if acting is not info:
        user = request[USER] = User(acting.name, acting.groups, acting.uid, acting.extra)
    authz_filter.authorize(request.method, request.rel_url.raw_path, request.query, acting, authorizer)
    return user


def _encode(body: Any) -> bytes:
    from kubelite.apiserver import objects

    return objects.encode(body)
