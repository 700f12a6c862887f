"""The dashboard's routes: the public page and assets, the history authorized per series as
the Metrics API would be (403 by name, filtered in lists), the bearer WebSocket subprotocol."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict

from kubelite.api import status as st
from kubelite.apiserver.auth import User, websocket_bearer
from kubelite.apiserver.authz import Attributes, Decision, Verdict
from kubelite.apiserver.dashboard import Dashboard, assets
from kubelite.apiserver.dashboard.history import Resources, Sample

USER = web.RequestKey("user", User)


class TeamOnly:
    """Allows `admin` everything, anyone else pod metrics in namespace "team" only."""

    def authorize(self, a: Attributes) -> Verdict:
        if a.user.name == "admin" or (a.resource == "pods" and a.namespace == "team"):
            return Verdict(Decision.ALLOW)
        return Verdict(Decision.NO_OPINION)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "app.js").write_text("export {}")

    async def no_summaries(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {}

    dash = Dashboard(cast(Any, None), no_summaries, TeamOnly(), interval=1, static=tmp_path)  # never started
    r = Resources(0.1, 0.5, 1, 2)
    dash.history.record(1, [Sample("pod", "team", "web", 0.2, 10, r), Sample("pod", "default", "db", 0.3, 20, r),
                            Sample("node", "", "n1", 1.0, 30, r)])

    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            if not dash.is_public(request.path):
                name = request.headers.get("X-User")
                if not name:
                    raise st.Unauthorized("Unauthorized")
                request[USER] = User(name, ())
            return await handler(request)
        except st.ApiError as e:
            return web.json_response(e.status(), status=e.code)

    app = web.Application(middlewares=[auth])
    dash.add_routes(app.router, USER)
    async with TestClient(TestServer(app)) as c:
        yield c


async def test_page_and_assets_are_public_with_a_strict_policy(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/dashboard/")
    assert resp.status == 200 and "script-src 'self'" in resp.headers["Content-Security-Policy"]
    resp = await client.get("/dashboard/assets/app.js")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/javascript")
    again = await client.get("/dashboard/assets/app.js", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status == 304
    assert (await client.get("/dashboard/assets/..%2Fsecret.js")).status == 404
    assert (await client.get("/dashboard/assets/missing.js")).status == 404
    resp = await client.get("/dashboard", allow_redirects=False)
    assert resp.status == 301 and resp.headers["Location"] == "/dashboard/"


async def test_history_needs_credentials(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/dashboard/api/history")).status == 401
    assert (await client.get("/dashboard/metrics")).status == 401


async def test_history_is_authorized_per_series(client: TestClient[Any, Any]) -> None:
    resp = await client.get("/dashboard/api/history", headers={"X-User": "alice"})
    assert [i["name"] for i in (await resp.json())["items"]] == ["web"]
    resp = await client.get("/dashboard/api/history?kind=pod&namespace=team&name=web", headers={"X-User": "alice"})
    assert resp.status == 200 and (await resp.json())["cpu"] == [pytest.approx(0.2)]
    resp = await client.get("/dashboard/api/history?kind=pod&namespace=default&name=db", headers={"X-User": "alice"})
    body = await resp.json()
    assert resp.status == 403 and body["reason"] == "Forbidden"
    assert 'cannot get resource "pods" in API group "metrics.k8s.io" in the namespace "default"' in body["message"]
    resp = await client.get("/dashboard/api/history?kind=node&name=n1", headers={"X-User": "admin"})
    assert resp.status == 200 and (await resp.json())["memory"] == [30]
    resp = await client.get("/dashboard/api/history?kind=pod&namespace=team&name=nope", headers={"X-User": "admin"})
    assert resp.status == 404
    resp = await client.get("/dashboard/api/history?kind=secret", headers={"X-User": "admin"})
    assert resp.status == 400
    text = await (await client.get("/dashboard/metrics", headers={"X-User": "alice"})).text()
    assert 'pod="web"' in text and 'pod="db"' not in text


def test_websocket_bearer_subprotocol() -> None:
    def headers(*protocols: str, upgrade: str = "websocket") -> CIMultiDict[str]:
        h: CIMultiDict[str] = CIMultiDict(Upgrade=upgrade)
        for p in protocols:
            h.add("Sec-WebSocket-Protocol", p)
        return h

    encoded = base64.urlsafe_b64encode(b"s3cret.token").decode().rstrip("=")
    bearer = f"base64url.bearer.authorization.k8s.io.{encoded}"
    assert websocket_bearer(headers(f"v5.channel.k8s.io, {bearer}")) == "Bearer s3cret.token"
    assert websocket_bearer(headers("v5.channel.k8s.io", bearer)) == "Bearer s3cret.token"
    assert websocket_bearer(headers(bearer, upgrade="")) is None  # only on a WebSocket upgrade
    assert websocket_bearer(headers("v5.channel.k8s.io")) is None
    assert websocket_bearer(headers("base64url.bearer.authorization.k8s.io.%%%")) is None
    assert websocket_bearer(headers("base64url.bearer.authorization.k8s.io." + "A" * 20000)) is None


async def test_an_unbuilt_page_says_how_to_build_it(tmp_path: Path) -> None:
    app = web.Application()
    assets.add_routes(app.router, tmp_path / "missing")
    async with TestClient(TestServer(app)) as c:
        resp = await c.get("/dashboard/")
        assert resp.status == 503 and "make install" in await resp.text()


async def test_explain_needs_get_on_the_pod_and_list_on_nodes(client: TestClient[Any, Any]) -> None:
    # "web" may get pods in team but not list nodes: refused before anything is read.
    r = await client.get("/dashboard/api/explain?namespace=team&name=p", headers={"X-User": "web"})
    assert r.status == 403 and 'cannot list resource "nodes"' in (await r.json())["message"]
    r = await client.get("/dashboard/api/explain?namespace=default&name=p", headers={"X-User": "web"})
    assert r.status == 403 and 'cannot get resource "pods"' in (await r.json())["message"]
    r = await client.get("/dashboard/api/explain?namespace=team", headers={"X-User": "admin"})
    assert r.status == 400
    assert (await client.get("/dashboard/api/explain?namespace=team&name=p")).status == 401
