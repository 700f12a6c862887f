"""Joining nodes, as k3s does it: the join token file, `/cacerts`, and the endpoint that signs
a node's client certificate after checking the token.

- `DATA_DIR/token` (0600) holds `K10<CA hash>::server:<secret>`. It is made on first start,
  kept across restarts, rewritten with the same secret if the CA changed, and replaced by
  `kubelite token rotate` or `kubelite server --token SECRET`. It is re-read when it changes,
  so a rotation applies to the next join without a restart; nodes that already joined keep
  their certificates.
- `GET /cacerts` (no authentication): the cluster CA certificate, which the agent hashes and
  compares with the token's hash before it sends any credential.
- `POST /v1-kubelite/client-kubelet.crt` (k3s' `/v1-k3s/client-kubelet.crt`): basic auth
  `USER:<secret>`, header `kubelite-Node-Name`, body a PEM certificate signing request made
  with the agent's own key. The secret is compared in constant time; the answer is a client
  certificate `CN=system:node:<name>, O=system:nodes` signed by the client CA.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubelite import jointoken, pki
from kubelite.apiserver import client_certs
from kubelite.apiserver.certs import ensure_ca, ensure_client_ca

log = logging.getLogger("kubelite.apiserver.join")

TOKEN_FILE = "token"
CACERTS_PATH = "/cacerts"
CLIENT_KUBELET_PATH = "/v1-kubelite/client-kubelet.crt"
NODE_NAME_HEADER = "kubelite-Node-Name"
NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
MAX_CSR_BYTES = 16 * 1024
NODE_CERT_DAYS = 3650  # nodes renew nothing yet: their certificates last as the CA does
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def write_token(data_dir: Path, ca_pem: bytes, secret: str) -> str:
    """Write `DATA_DIR/token` for `secret` (mode 0600); the full token."""
    token = jointoken.format_token(ca_pem, secret)
    pki.write_private(data_dir / TOKEN_FILE, (token + "\n").encode())
    return token


def ensure_token(data_dir: Path, ca_pem: bytes, secret: str = "") -> str:
    """The join token, written if absent, if `secret` is given and differs, or if its CA hash
    is not this CA's (a new CA keeps the old secret)."""
    path = data_dir / TOKEN_FILE
    current: jointoken.JoinToken | None = None
    if path.exists():
        try:
            current = jointoken.parse(path.read_text())
        except jointoken.TokenFormatError:
            log.warning("%s is not a join token: writing a new one", path)
    wanted = secret or (current.secret if current else jointoken.new_secret())
    if current is None or current.secret != wanted or current.ca_hash != jointoken.ca_hash(ca_pem):
        return write_token(data_dir, ca_pem, wanted)
    return str(current)


class JoinService:
    """Serves `/cacerts` and signs node client certificates for holders of the join secret."""

    def __init__(self, data_dir: Path, tls_dir: Path, secret: str = "") -> None:
        self.tls_dir = tls_dir
        ca_crt, _ = ensure_ca(tls_dir)
        self.ca_pem = ca_crt.read_bytes()
        self.client_ca_file, client_ca_key = ensure_client_ca(tls_dir)
        self._signer = pki.load_signer(self.client_ca_file, client_ca_key)
        self.token_path = data_dir / TOKEN_FILE
        self.token = ensure_token(data_dir, self.ca_pem, secret)
        self._token_mtime = self.token_path.stat().st_mtime_ns

    def secret(self) -> str:
        """The current join secret: the token file, re-read when it changed (rotation)."""
        try:
            mtime = self.token_path.stat().st_mtime_ns
            if mtime != self._token_mtime:
                self.token = str(jointoken.parse(self.token_path.read_text()))
                self._token_mtime = mtime
        except (OSError, jointoken.TokenFormatError) as e:
            log.warning("cannot re-read the join token %s (keeping the previous one): %s", self.token_path, e)
        return jointoken.parse(self.token).secret

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(CACERTS_PATH, self.cacerts)
        router.add_post(CLIENT_KUBELET_PATH, self.client_kubelet_cert)

    async def cacerts(self, request: web.Request) -> web.Response:
        return web.Response(body=self.ca_pem, content_type="text/plain")

    def authorized(self, header: str | None) -> bool:
        """Whether an Authorization header is basic auth with the current join secret."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            creds = base64.b64decode(header[len("Basic "):].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        _, _, secret = creds.partition(":")
        return hmac.compare_digest(secret.encode(), self.secret().encode())

    async def client_kubelet_cert(self, request: web.Request) -> web.Response:
        if not self.authorized(request.headers.get("Authorization")):
            log.warning("refused a node client certificate to %s: %s", request.remote, jointoken.TOKEN_NOT_VALID)
            return web.Response(status=401, text=jointoken.TOKEN_NOT_VALID + "\n")
        name = request.headers.get(NODE_NAME_HEADER, "").lower()
        if not name or len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
            return web.Response(status=400, text=f"invalid {NODE_NAME_HEADER} header: {name!r}\n")
        body = await request.content.read(MAX_CSR_BYTES + 1)
        try:
            if len(body) > MAX_CSR_BYTES:
                raise ValueError("too large")
            csr = x509.load_pem_x509_csr(body)
            if not csr.is_signature_valid:
                raise ValueError("bad signature")
            public_key = csr.public_key()
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                raise ValueError("not an EC key")
        except ValueError as e:
            return web.Response(status=400, text=f"invalid certificate signing request: {e}\n")
        cert = self.sign_node(name, public_key)
        log.info("signed a client certificate for %s%s (%s)", NODE_USER_PREFIX, name, request.remote)
        return web.Response(body=cert.public_bytes(serialization.Encoding.PEM), content_type="text/plain")

    def sign_node(self, name: str, public_key: ec.EllipticCurvePublicKey) -> x509.Certificate:
        """A client certificate for node `name`: CN=system:node:<name>, O=system:nodes."""
        return client_certs.sign(self._signer, public_key, NODE_USER_PREFIX + name, (NODES_GROUP,),
                                 days=NODE_CERT_DAYS)
