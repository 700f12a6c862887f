"""TokenReview as kube-apiserver's tokenreview REST answers it: static tokens valid for the
API's audiences only, service account tokens for the audiences they were issued for, unknown
tokens `{"user": {}}`, and a missing token or a namespace refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubelite.api import status as st
from kubelite.apiserver.auth import TokenAuthenticator
from kubelite.apiserver.tokenreview import TOKEN_REQUIRED, answer
from kubelite.apiserver.tokens import ISSUER, TokenSubject


def review(token: str, *audiences: str, **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"token": token}
    if audiences:
        spec["audiences"] = list(audiences)
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "metadata": meta, "spec": spec}


@pytest.fixture
def auth(tmp_path: Path) -> TokenAuthenticator:
    return TokenAuthenticator(tmp_path)


def test_a_service_account_token_names_its_account_pod_and_audiences(auth: TokenAuthenticator) -> None:
    token, _ = auth.issuer.issue(TokenSubject("team", "robot", "sa-uid", "web", "pod-uid"),
                                 [ISSUER, "vault"], 600)
    out = answer(review(token), auth)
    assert list(out) == ["kind", "apiVersion", "metadata", "spec", "status"]
    assert out["metadata"] == {"creationTimestamp": None}
    status = out["status"]
    assert status["authenticated"] is True and status["audiences"] == [ISSUER]
    assert status["user"]["username"] == "system:serviceaccount:team:robot"
    assert status["user"]["uid"] == "sa-uid"
    assert status["user"]["extra"]["authentication.kubernetes.io/pod-name"] == ["web"]
    assert answer(review(token, "vault", "other"), auth)["status"]["audiences"] == ["vault"]
    assert answer(review(token, "other"), auth)["status"] == {"user": {}, "error": "invalid bearer token"}


def test_static_tokens_know_only_the_api_audiences(auth: TokenAuthenticator) -> None:
    status = answer(review(auth.admin_token), auth)["status"]
    assert status == {"authenticated": True, "audiences": [ISSUER],
                      "user": {"username": "admin", "groups": ["system:masters", "system:authenticated"]}}
    assert answer(review(auth.node_token, "vault"), auth)["status"] == {"user": {}}


def test_an_unknown_token_is_not_authenticated_without_an_error(auth: TokenAuthenticator) -> None:
    assert answer(review("nope"), auth)["status"] == {"user": {}}
    assert answer(review("a.b.c"), auth)["status"] == {"user": {}, "error": "invalid bearer token"}


def test_no_token_or_a_namespace_is_a_bad_request(auth: TokenAuthenticator) -> None:
    with pytest.raises(st.ApiError) as e:
        answer({"spec": {}}, auth)
    assert (e.value.code, e.value.message) == (400, TOKEN_REQUIRED)
    with pytest.raises(st.ApiError) as e:
        answer(review("x", namespace="default"), auth)
    assert e.value.message == "namespace is not allowed on this type: default"
