"""The server side of joining: the token file, /cacerts and the node client certificate
endpoint (secret checked, subject forced to system:node:NAME, signed by the client CA)."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from kubelite import jointoken, pki
from kubelite.apiserver.auth import certificate_user
from kubelite.apiserver.join import (
    CLIENT_KUBELET_PATH,
    NODE_NAME_HEADER,
    JoinService,
    ensure_token,
    write_token,
)
from kubelite.kubelet.bootstrap import signing_request


def test_token_file_is_private_kept_and_follows_a_new_ca(tmp_path: Path) -> None:
    first = ensure_token(tmp_path, b"CA1")
    path = tmp_path / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text().strip() == first
    assert ensure_token(tmp_path, b"CA1") == first  # kept across restarts
    moved = jointoken.parse(ensure_token(tmp_path, b"CA2"))
    assert moved.secret == jointoken.parse(first).secret and moved.ca_hash == jointoken.ca_hash(b"CA2")
    assert jointoken.parse(ensure_token(tmp_path, b"CA2", "chosen")).secret == "chosen"  # --token


async def _client(service: JoinService) -> TestClient:
    app = web.Application()
    service.add_routes(app.router)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


def _basic(secret: str) -> str:
    return "Basic " + base64.b64encode(f"server:{secret}".encode()).decode()


async def test_the_endpoint_signs_a_node_certificate_for_the_secret_only(tmp_path: Path) -> None:
    service = JoinService(tmp_path, tmp_path / "tls")
    secret = jointoken.parse(service.token).secret
    key = pki.new_key()
    csr = signing_request(key, "ignored")
    client = await _client(service)
    try:
        ca = await (await client.get("/cacerts")).read()
        assert ca == (tmp_path / "tls" / "ca.crt").read_bytes()
        refused = await client.post(CLIENT_KUBELET_PATH, data=csr,
                                    headers={"Authorization": _basic("wrong"), NODE_NAME_HEADER: "n1"})
        assert refused.status == 401 and "token is not valid for this server" in await refused.text()
        bad_name = await client.post(CLIENT_KUBELET_PATH, data=csr,
                                     headers={"Authorization": _basic(secret), NODE_NAME_HEADER: "No_Good"})
        assert bad_name.status == 400
        ok = await client.post(CLIENT_KUBELET_PATH, data=csr,
                               headers={"Authorization": _basic(secret), NODE_NAME_HEADER: "N1"})
        assert ok.status == 200
        cert = x509.load_pem_x509_certificate(await ok.read())
    finally:
        await client.close()
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate((tmp_path / "tls" / "client-ca.crt").read_bytes()))
    assert cert.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo) \
        == key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"


async def test_a_rotated_token_applies_without_a_restart(tmp_path: Path) -> None:
    service = JoinService(tmp_path, tmp_path / "tls")
    old = jointoken.parse(service.token).secret
    write_token(tmp_path, (tmp_path / "tls" / "ca.crt").read_bytes(), "rotated")
    os.utime(tmp_path / "token", ns=(1, 1))  # a different mtime even within one clock tick
    assert service.secret() == "rotated" and old != "rotated"
    client = await _client(service)
    try:
        csr = signing_request(pki.new_key(), "n")
        old_answer = await client.post(CLIENT_KUBELET_PATH, data=csr,
                                       headers={"Authorization": _basic(old), NODE_NAME_HEADER: "n"})
        new_answer = await client.post(CLIENT_KUBELET_PATH, data=csr,
                                       headers={"Authorization": _basic("rotated"), NODE_NAME_HEADER: "n"})
        assert (old_answer.status, new_answer.status) == (401, 200)
    finally:
        await client.close()


@pytest.mark.parametrize(("peercert", "user"), [
    (None, None),
    ({}, None),
    ({"subject": ((("organizationName", "system:nodes"),), (("commonName", "system:node:a"),))},
     ("system:node:a", ("system:nodes", "system:authenticated"))),
    ({"subject": ((("commonName", "jane"),),)}, ("jane", ("system:authenticated",))),
])
def test_a_verified_client_certificate_is_its_cn_with_its_organizations(
        peercert: dict[str, object] | None, user: tuple[str, tuple[str, ...]] | None) -> None:
    got = certificate_user(peercert)
    assert (None if got is None else (got.name, got.groups)) == user
