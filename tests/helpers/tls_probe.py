"""A TLS client that offers exactly the versions and TLS 1.2 suites a test names."""

from __future__ import annotations

import socket
import ssl

CBC_ONLY = "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256"
AEAD = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"


def handshake(port: int, *, tls12_ciphers: str | None = None, host: str = "127.0.0.1") -> tuple[str, str]:
    """Connect and return (protocol version, cipher) agreed; ssl.SSLError if refused.

    With `tls12_ciphers` the client speaks TLS 1.2 only and offers just those suites;
    without, TLS 1.3 only.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    if tls12_ciphers is None:
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    else:
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(tls12_ciphers)
    with socket.create_connection((host, port), timeout=10) as raw, ctx.wrap_socket(raw) as conn:
        version, cipher = conn.version(), conn.cipher()
        assert version is not None and cipher is not None
        return version, cipher[0]
