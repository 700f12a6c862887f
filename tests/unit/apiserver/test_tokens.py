"""Service account tokens: signing and verifying, TokenRequest checks, and the authenticator
accepting them as the service account while keeping the admin and node tokens."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver.auth import TokenAuthenticator
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.apiserver.tokens import KEY_FILE, TokenIssuer, TokenSubject, create_token
from kubelite.store.sqlite import SqliteStore

NOW = 1_700_000_000


def claims_of(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def header_of(token: str) -> dict:
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_issued_token_verifies_and_carries_kubernetes_claims() -> None:
    issuer = TokenIssuer.ephemeral()
    subject = TokenSubject("ns1", "robot", "sa-uid", "web-0", "pod-uid", "node-a")
    token, expires = issuer.issue(subject, [issuer.issuer], 600, now=NOW, node_uid="node-uid")
    assert expires == NOW + 600
    assert header_of(token) == {"alg": "ES256", "kid": issuer.key_id}
    claims = claims_of(token)
    assert claims["sub"] == "system:serviceaccount:ns1:robot"
    assert claims["iss"] == "https://kubernetes.default.svc.cluster.local"
    assert claims["aud"] == ["https://kubernetes.default.svc.cluster.local"]
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 600)
    assert claims["kubernetes.io"] == {
        "namespace": "ns1", "serviceaccount": {"name": "robot", "uid": "sa-uid"},
        "pod": {"name": "web-0", "uid": "pod-uid"}, "node": {"name": "node-a", "uid": "node-uid"}}
    seen = issuer.verify(token, now=NOW + 10)
    assert seen is not None and seen.username == "system:serviceaccount:ns1:robot"
    assert (seen.pod_name, seen.pod_uid, seen.node_name) == ("web-0", "pod-uid", "node-a")


def test_expired_foreign_tampered_or_wrong_audience_tokens_are_refused() -> None:
    issuer, other = TokenIssuer.ephemeral(), TokenIssuer.ephemeral()
    subject = TokenSubject("ns1", "robot")
    token, _ = issuer.issue(subject, [issuer.issuer], 600, now=NOW)
    assert issuer.verify(token, now=NOW + 600) is None  # expired
    assert issuer.verify(token, now=NOW - 5) is None  # not yet valid
    assert other.verify(token, now=NOW + 1) is None  # signed with another key
    head, body, sig = token.split(".")
    forged = json.dumps({**claims_of(token), "sub": "system:serviceaccount:kube-system:admin"})
    forged_body = base64.urlsafe_b64encode(forged.encode()).rstrip(b"=").decode()
    assert issuer.verify(f"{head}.{forged_body}.{sig}", now=NOW + 1) is None
    vault, _ = issuer.issue(subject, ["vault"], 600, now=NOW)
    assert issuer.verify(vault, now=NOW + 1) is None  # a token for another audience
    assert issuer.verify("not.a.token", now=NOW) is None


def test_key_is_made_once_and_reused(tmp_path: Path) -> None:
    first = TokenIssuer.from_dir(tmp_path)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    token, _ = first.issue(TokenSubject("a", "b"), [first.issuer], 600)
    again = TokenIssuer.from_dir(tmp_path)
    assert again.key_id == first.key_id and again.verify(token) is not None


def test_authenticator_accepts_service_account_tokens_and_keeps_static_ones(tmp_path: Path) -> None:
    auth = TokenAuthenticator(tmp_path)
    admin = auth.authenticate(f"Bearer {auth.admin_token}")
    assert admin is not None and admin.name == "admin" and "system:masters" in admin.groups
    node = auth.authenticate(f"Bearer {auth.node_token}")
    assert node is not None and node.name == "system:node"
    assert auth.authenticate("Bearer nope") is None and auth.authenticate(None) is None
    issuer = TokenIssuer.from_dir(tmp_path)  # what the TokenRequest handler signs with
    token, _ = issuer.issue(TokenSubject("team", "default", "u1", "p", "p-uid"), [issuer.issuer], 600)
    user = auth.authenticate(f"Bearer {token}")
    assert user is not None
    assert user.name == "system:serviceaccount:team:default"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:team",
                           "system:authenticated")
    assert ("authentication.kubernetes.io/pod-name", "p") in user.extra


@pytest.fixture
async def objects(tmp_path: Path) -> AsyncIterator[ObjectStore]:
    store = SqliteStore(str(tmp_path / "s.db"))
    await store.start()
    objs = ObjectStore(store)
    opts = WriteOptions()
    sa = by_resource("", "v1", "serviceaccounts")
    pods = by_resource("", "v1", "pods")
    assert sa is not None and pods is not None
    for name in ("default", "other"):
        await objs.create(sa, "ns1", {"apiVersion": "v1", "kind": "ServiceAccount",
                                      "metadata": {"name": name}}, opts)
    await objs.create(pods, "ns1", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
                      opts)
    try:
        yield objs
    finally:
        await store.close()


async def test_token_request_defaults_binding_and_checks(objects: ObjectStore) -> None:
    issuer = TokenIssuer.ephemeral()
    pods = by_resource("", "v1", "pods")
    assert pods is not None
    pod = json.loads(await objects.get(pods, "ns1", "p"))
    uid = pod["metadata"]["uid"]
    answer = await create_token(objects, issuer, "ns1", "default", {"spec": {
        "audiences": None, "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "p",
                                              "uid": uid}}}, now=NOW)
    assert answer["kind"] == "TokenRequest" and answer["apiVersion"] == "authentication.k8s.io/v1"
    assert answer["spec"]["expirationSeconds"] == 3600
    assert answer["spec"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
    assert answer["status"]["expirationTimestamp"] == "2023-11-14T23:13:20Z"
    subject = issuer.verify(answer["status"]["token"], now=NOW + 1)
    assert subject is not None and (subject.pod_name, subject.pod_uid) == ("p", uid)

    with pytest.raises(st.Invalid, match="may not specify a duration less than 10 minutes"):
        await create_token(objects, issuer, "ns1", "default", {"spec": {"expirationSeconds": 60}})
    with pytest.raises(st.NotFound):
        await create_token(objects, issuer, "ns1", "ghost", {"spec": {}})
    with pytest.raises(st.Conflict, match="does not match the UID in record"):
        await create_token(objects, issuer, "ns1", "default", {"spec": {
            "boundObjectRef": {"kind": "Pod", "name": "p", "uid": "stale"}}})
    with pytest.raises(st.BadRequest, match="running with different serviceaccount name"):
        await create_token(objects, issuer, "ns1", "other", {"spec": {
            "boundObjectRef": {"kind": "Pod", "name": "p"}}})
    with pytest.raises(st.BadRequest, match="cannot bind token to object of type Node"):
        await create_token(objects, issuer, "ns1", "default", {"spec": {
            "boundObjectRef": {"kind": "Node", "name": "n"}}})


def test_the_controller_manager_token_names_its_own_identity(tmp_path: Path) -> None:
    auth = TokenAuthenticator(tmp_path / "auth")
    user = auth.authenticate(f"Bearer {auth.controller_manager_token}")
    assert user is not None and user.name == "system:kube-controller-manager"
    assert "system:masters" not in user.groups
    again = TokenAuthenticator(tmp_path / "auth")  # kept across restarts
    assert again.controller_manager_token == auth.controller_manager_token
