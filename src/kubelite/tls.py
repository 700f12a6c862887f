"""The TLS settings every kubelite server shares (API server, kubelet, and any to come).

As Kubernetes' servers by default: TLS 1.2 and 1.3 only, and on TLS 1.2 only the
ECDHE suites with an AEAD cipher (AES-GCM, ChaCha20-Poly1305) -- no CBC, no RSA key
exchange, no SHA-1 MACs. TLS 1.3 suites are all AEAD and keep OpenSSL's defaults.
This module imports nothing of kubelite.
"""

from __future__ import annotations

import ssl
from pathlib import Path

# Go's names: TLS_ECDHE_{ECDSA,RSA}_WITH_{AES_128_GCM_SHA256,AES_256_GCM_SHA384,CHACHA20_POLY1305_SHA256}.
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
)


def server_context(cert: Path, key: Path, *, client_ca: Path | None = None) -> ssl.SSLContext:
    """A serving context with kubelite's protocol versions and suites, speaking HTTP/1.1.

    With `client_ca`, a client certificate is asked for and, when given, must chain to
    that CA (Go's VerifyClientCertIfGiven): a request without one still reaches the
    server, which answers it with a 401 Status rather than a bare handshake failure.
    """
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca) if client_ca else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(":".join(TLS12_CIPHERS))
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_cert_chain(str(cert), str(key))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
