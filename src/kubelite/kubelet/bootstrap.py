"""Joining a cluster with a token (k3s' agent bootstrap): trust the server's CA by the token's
hash, then trade the token for a client certificate of this node's own.

1. A full `K10<hash>::user:secret` token: `GET /cacerts` without verification, compare its
   SHA-256 with the hash (k3s' refusal when they differ), keep it as `agent/server-ca.crt`
   and verify the server by it from then on. A bare secret needs `--ca-file`.
2. `POST /v1-kubelite/client-kubelet.crt` with basic auth `user:secret`, this node's name and
   a certificate signing request made with this node's key (`agent/client-kubelet.key`, kept
   across restarts; the certificate is asked for at every start, as k3s does). The answer,
   `CN=system:node:<name>, O=system:nodes`, is `agent/client-kubelet.crt`; every API request
   of the agent presents it.

A bare secret the join endpoint refuses may still be the server's legacy shared node token
(`DATA_DIR/auth/node-token`): it is then used as a bearer token, with a warning.

When `--server` cannot be reached, the other servers the agent knew when it last ran
(kubelet/api_servers.py) are tried in turn, as k3s' agent joins through its load balancer.
"""

from __future__ import annotations

import base64
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubelite import jointoken, pki
from kubelite.kubelet.api_servers import saved_servers
from kubelite.kubelet.config import AgentConfig

log = logging.getLogger("kubelite.agent.bootstrap")

CACERTS_PATH = "/cacerts"
CLIENT_KUBELET_PATH = "/v1-kubelite/client-kubelet.crt"
NODE_NAME_HEADER = "kubelite-Node-Name"
TIMEOUT = aiohttp.ClientTimeout(total=30)


class JoinError(Exception):
    """The agent cannot join: the message says why, for the user."""


class Unreachable(JoinError):
    """The server did not answer at all (another server may)."""


@dataclass(frozen=True)
class Credentials:
    """How the agent talks to the API server once joined."""

    ca_file: str | None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    bearer_token: str | None = None  # only for the legacy shared node token
    server: str = ""  # the server that answered (`--server`, or another when it did not)


def _ssl(ca_file: str | None, insecure: bool) -> ssl.SSLContext | bool:
    if insecure:
        return False
    return ssl.create_default_context(cafile=ca_file)


async def fetch_ca(server: str) -> bytes:
    """The server's CA bundle, fetched without verifying the server (it is checked by hash)."""
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s, s.get(server + CACERTS_PATH, ssl=False) as r:
            if r.status != 200:
                raise JoinError(f"failed to get CA certs from {server}: {r.status} {r.reason}")
            return await r.read()
    except (aiohttp.ClientError, OSError, TimeoutError) as e:
        raise Unreachable(f"failed to get CA certs from {server}: {e}") from e


def pin_ca(token: jointoken.JoinToken, ca_pem: bytes) -> None:
    """Refuse a CA whose hash is not the token's (k3s' words)."""
    server_hash = jointoken.ca_hash(ca_pem)
    if token.ca_hash != server_hash:
        raise JoinError(jointoken.CA_HASH_MISMATCH.format(token=token.ca_hash, server=server_hash))


def _node_key(path: str) -> ec.EllipticCurvePrivateKey:
    """This node's private key, made once."""
    if os.path.exists(path):
        key = serialization.load_pem_private_key(Path(path).read_bytes(), None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key
    key = pki.new_key()
    pki.write_private(Path(path), pki.key_pem(key))
    return key


def signing_request(key: ec.EllipticCurvePrivateKey, node_name: str) -> bytes:
    """A PEM CSR for this node's key (the server sets the subject itself)."""
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node_name}")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


async def request_certificate(server: str, token: jointoken.JoinToken, node_name: str, csr: bytes,
                              tls: ssl.SSLContext | bool) -> bytes | None:
    """The signed client certificate, or None if the server refused the token (401/403)."""
    creds = base64.b64encode(f"{token.username}:{token.secret}".encode()).decode()
    headers = {"Authorization": f"Basic {creds}", NODE_NAME_HEADER: node_name,
               "Content-Type": "application/x-pem-file"}
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s, \
                s.post(server + CLIENT_KUBELET_PATH, data=csr, headers=headers, ssl=tls) as r:
            body = await r.read()
            if r.status in (401, 403):
                return None
            if r.status != 200:
                raise JoinError(f"{server}{CLIENT_KUBELET_PATH}: {r.status} {r.reason}: "
                                f"{body.decode(errors='replace').strip()}")
            return body
    except aiohttp.ClientConnectorCertificateError as e:
        raise JoinError(f"the server's certificate is not valid for {server}: {e.certificate_error}") from e
    except (aiohttp.ClientError, OSError, TimeoutError) as e:
        raise Unreachable(f"cannot reach the server {server}: {e}") from e


async def bearer_accepted(server: str, secret: str, tls: ssl.SSLContext | bool) -> bool:
    """Whether `secret` is a bearer token the server accepts (the legacy shared node token)."""
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as s, \
                s.get(server + "/api", headers={"Authorization": f"Bearer {secret}"}, ssl=tls) as r:
            return r.status == 200
    except (aiohttp.ClientError, OSError, TimeoutError):
        return False


async def join(config: AgentConfig) -> Credentials:
    """Trust the server and get this node's credential; raises JoinError with the reason."""
    try:
        token = jointoken.parse(config.token())
    except OSError as e:
        raise JoinError(f"cannot read the token: {e}") from e
    except jointoken.TokenFormatError as e:
        raise JoinError(str(e)) from e
    server = config.server.rstrip("/")
    if not server.startswith("https://"):
        raise JoinError(f"only https:// URLs are supported, invalid scheme: {server}")
    others = saved_servers(config.names.kubelet_dir, server)
    for other in [s for s in others if s != server]:
        try:
            return await join_via(config, token, server)
        except Unreachable as e:
            log.warning("%s; trying %s", e, other)
            server = other
    return await join_via(config, token, server)


async def join_via(config: AgentConfig, token: jointoken.JoinToken, server: str) -> Credentials:
    """Join through `server`; Unreachable when it does not answer."""
    agent_dir = config.names.kubelet_dir
    ca_file = config.ca_file
    if token.ca_hash:
        ca_pem = await fetch_ca(server)
        pin_ca(token, ca_pem)
        ca_file = os.path.join(agent_dir, "server-ca.crt")
        pki.write_private(Path(ca_file), ca_pem)
    elif not ca_file and not config.insecure:
        raise JoinError("the token has no CA hash: give the full token (K10...) from the server's "
                        "DATA_DIR/token, or the cluster CA with --ca-file")
    tls = _ssl(ca_file, config.insecure)
    key_file = os.path.join(agent_dir, "client-kubelet.key")
    key = _node_key(key_file)
    cert = await request_certificate(server, token, config.node_name,
                                     signing_request(key, config.node_name), tls)
    if cert is None:
        if not token.ca_hash and await bearer_accepted(server, token.secret, tls):
            log.warning("the token is the shared node token: this node has no identity of its "
                        "own (use the join token, the server's DATA_DIR/token)")
            return Credentials(ca_file, bearer_token=token.secret, server=server)
        raise JoinError(f"{jointoken.TOKEN_NOT_VALID} ({server})")
    cert_file = os.path.join(agent_dir, "client-kubelet.crt")
    pki.write_private(Path(cert_file), cert)
    log.info("joined %s as system:node:%s", server, config.node_name)
    return Credentials(ca_file, cert_file, key_file, server=server)
