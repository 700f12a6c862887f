"""Join tokens in k3s' format: `K10<CA hash>::<username>:<secret>`.

The CA hash is the hex SHA-256 of the cluster CA certificate exactly as the server stores and
serves it (PEM bytes of `/cacerts`), as k3s hashes a single self-signed CA. A joining agent
downloads `/cacerts` without verification, compares its hash with the token's before it sends
any credential, and from then on trusts only that CA. A bare secret (no `K10` prefix) carries
no CA hash: the agent must then be given the CA (`--ca-file`).

This module imports nothing of kubelite: the server writes tokens, the agent reads them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

PREFIX = "K10"
CA_HASH_LENGTH = 64  # hex of a SHA-256 digest
SERVER_USER = "server"  # the username of the token the server writes (k3s' server token)
NODE_USER = "node"  # the username a bare secret is sent with (k3s' agent default)

# Refusals, in k3s' words where k3s has them.
CA_HASH_MISMATCH = "token CA hash does not match the Cluster CA certificate hash: {token} != {server}"
TOKEN_NOT_VALID = "token is not valid for this server"


class TokenFormatError(ValueError):
    """The token is not `K10<hash>::user:secret` nor a bare secret."""


@dataclass(frozen=True)
class JoinToken:
    ca_hash: str  # "" for a bare secret
    username: str
    secret: str

    def __str__(self) -> str:
        return f"{PREFIX}{self.ca_hash}::{self.username}:{self.secret}"


def ca_hash(ca_pem: bytes) -> str:
    """The hash a K10 token pins: hex SHA-256 of the CA certificate's PEM bytes."""
    return hashlib.sha256(ca_pem).hexdigest()


def new_secret() -> str:
    """A fresh join secret (48 hex characters, 192 bits)."""
    return secrets.token_hex(24)


def format_token(ca_pem: bytes, secret: str, username: str = SERVER_USER) -> str:
    """The full token for `secret` pinning the CA whose PEM is `ca_pem`."""
    return str(JoinToken(ca_hash(ca_pem), username, secret))


def parse(token: str) -> JoinToken:
    """Parse a full K10 token or a bare secret (as k3s' parseToken, without kubeadm tokens)."""
    token = token.strip()
    if not token:
        raise TokenFormatError("token must not be empty")
    if not token.startswith(PREFIX):
        return JoinToken("", NODE_USER, token)
    digest, sep, creds = token[len(PREFIX):].partition("::")
    if not sep:
        raise TokenFormatError("invalid token format")
    if digest and len(digest) != CA_HASH_LENGTH:
        raise TokenFormatError("invalid token CA hash length")
    username, colon, secret = creds.partition(":")
    if not colon or not secret:
        raise TokenFormatError("invalid token format")
    return JoinToken(digest.lower(), username or NODE_USER, secret)
