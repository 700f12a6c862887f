"""The kubelet's API authorizes as its webhook modes: a certificate or a TokenReview'd token
names the caller, a SubjectAccessReview on nodes/<subresource> decides; anonymous is 401."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kubelite import pki
from kubelite.apiserver.certs import ensure_ca
from kubelite.apiserver.proxy_tls import kubelet_client_context
from kubelite.client.errors import NotFound
from kubelite.kubelet.server import KubeletServer
from kubelite.kubelet.server_auth import Access, WebhookAuth, access
from kubelite.kubelet.server_local import LocalProcessBackend


class FakeApi:
    """Answers TokenReview from a table and SubjectAccessReview from a set of (user, subresource)."""

    def __init__(self, tokens: dict[str, dict[str, Any]], grants: set[tuple[str, str]], sar: bool = True) -> None:
        self.tokens, self.grants, self.sar = tokens, grants, sar
        self.reviews: list[dict[str, Any]] = []

    async def request(self, method: str, path: str, body: Any = None, **_: Any) -> Any:
        if path.endswith("/tokenreviews"):
            user = self.tokens.get(body["spec"]["token"])
            return {"status": {"authenticated": True, "user": user} if user else {"authenticated": False}}
        if not self.sar:
            raise NotFound({"code": 404, "reason": "NotFound", "message": "the server could not find the requested resource"})
        self.reviews.append(body["spec"])
        attrs = body["spec"]["resourceAttributes"]
        return {"status": {"allowed": (body["spec"]["user"], attrs["subresource"]) in self.grants}}


def test_paths_map_to_node_subresources_and_methods_to_verbs() -> None:
    assert access("POST", "/exec/ns/p/c") == Access("create", "proxy")
    assert access("GET", "/containerLogs/ns/p/c") == Access("get", "proxy")
    assert access("GET", "/stats/summary") == Access("get", "stats")
    assert access("GET", "/metrics/cadvisor") == Access("get", "metrics")
    assert access("GET", "/logs/syslog") == Access("get", "log")
    assert access("GET", "/spec/") == Access("get", "spec")


async def test_reviews_name_the_node_and_answers_are_cached() -> None:
    api = FakeApi({"t": {"username": "bob", "groups": ["dev"]}}, {("bob", "stats")})
    auth = WebhookAuth(api, "n1")  # type: ignore[arg-type]
    bob = await auth.authenticate_token("t")
    assert bob is not None and bob.groups == ("dev",)
    assert await auth.authenticate_token("nope") is None
    assert await auth.authorize(bob, Access("get", "stats"))
    assert await auth.authorize(bob, Access("get", "stats"))
    assert not await auth.authorize(bob, Access("create", "proxy"))
    assert len(api.reviews) == 2
    assert api.reviews[0]["resourceAttributes"] == {"verb": "get", "group": "", "version": "v1", "resource": "nodes",
                                                    "subresource": "stats", "name": "n1"}


async def test_without_subject_access_review_only_admins_pass() -> None:
    auth = WebhookAuth(FakeApi({}, set(), sar=False), "n1")  # type: ignore[arg-type]
    from kubelite.kubelet.server_auth import Caller

    assert await auth.authorize(Caller("kube-apiserver-kubelet-client", ("system:masters",)), Access("get", "proxy"))
    assert not await auth.authorize(Caller("bob", ("dev",)), Access("get", "proxy"))


@pytest.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[tuple[KubeletServer, Path]]:
    tls = tmp_path / "tls"
    ca, _ = ensure_ca(tls)
    backend = LocalProcessBackend(tmp_path / "containers")
    backend.add_container("default", "web", "app").log_path.write_text("")
    api = FakeApi({"viewer": {"username": "viewer", "groups": []}, "ops": {"username": "ops", "groups": []}},
                  {("ops", "proxy"), ("kube-apiserver-kubelet-client", "proxy")})
    server = KubeletServer(backend, host="127.0.0.1", port=0, ca_file=ca, data_dir=tmp_path / "kubelet",
                           auth=WebhookAuth(api, "n1"))  # type: ignore[arg-type]
    await server.start()
    try:
        yield server, tls
    finally:
        await server.stop()


async def _status(kubelet: tuple[KubeletServer, Path], ctx: ssl.SSLContext, token: str = "") -> tuple[int, str]:
    server, _ = kubelet
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s, \
            s.get(f"https://127.0.0.1:{server.port}/containerLogs/default/web/app", headers=headers) as r:
        return r.status, await r.text()


def _anonymous() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx


async def test_anonymous_is_401_and_a_user_without_nodes_proxy_is_403(kubelet: tuple[KubeletServer, Path]) -> None:
    assert (await _status(kubelet, _anonymous()))[0] == 401
    assert (await _status(kubelet, _anonymous(), "bogus"))[0] == 401
    code, body = await _status(kubelet, _anonymous(), "viewer")
    assert code == 403
    assert "Forbidden (user=viewer, verb=get, resource=nodes, subresource=proxy)" in body
    assert (await _status(kubelet, _anonymous(), "ops"))[0] == 200


async def test_the_api_servers_certificate_is_reviewed_and_allowed(kubelet: tuple[KubeletServer, Path]) -> None:
    _, tls = kubelet
    assert (await _status(kubelet, kubelet_client_context(tls)))[0] == 200
    ca_cert, ca_key = pki.load_signer(tls / "ca.crt", tls / "ca.key")
    key = pki.new_key()
    pki.write_pair(tls / "other.crt", tls / "other.key",
                   pki.issue("someone", key.public_key(), signer_key=ca_key, issuer=ca_cert.subject), key)
    ctx = _anonymous()
    ctx.load_cert_chain(str(tls / "other.crt"), str(tls / "other.key"))
    code, body = await _status(kubelet, ctx)
    assert code == 403 and "user=someone" in body
