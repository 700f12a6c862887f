"""Join tokens in k3s' K10 format: made, parsed, refused."""

from __future__ import annotations

import hashlib

import pytest

from kubelite import jointoken


def test_a_full_token_pins_the_sha256_of_the_ca_pem_bytes() -> None:
    ca = b"-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"
    token = jointoken.format_token(ca, "s3cret")
    assert token == f"K10{hashlib.sha256(ca).hexdigest()}::server:s3cret"
    parsed = jointoken.parse(token + "\n")
    assert (parsed.ca_hash, parsed.username, parsed.secret) == (hashlib.sha256(ca).hexdigest(), "server", "s3cret")
    assert str(parsed) == token


def test_a_bare_secret_has_no_ca_hash_and_the_node_user() -> None:
    assert jointoken.parse("s3cret") == jointoken.JoinToken("", "node", "s3cret")
    assert jointoken.parse("K10::node:x") == jointoken.JoinToken("", "node", "x")  # k3s: empty hash allowed


@pytest.mark.parametrize(("token", "message"), [
    ("", "token must not be empty"),
    ("K10abc::server:x", "invalid token CA hash length"),
    ("K10" + "a" * 64 + "::server:", "invalid token format"),
    ("K10" + "a" * 64 + "::nocolon", "invalid token format"),
    ("K10" + "a" * 64, "invalid token format"),
])
def test_malformed_tokens_are_refused_in_k3s_words(token: str, message: str) -> None:
    with pytest.raises(jointoken.TokenFormatError, match=message):
        jointoken.parse(token)


def test_new_secrets_differ() -> None:
    assert jointoken.new_secret() != jointoken.new_secret() and len(jointoken.new_secret()) == 48
