"""The API server's HTTPS port: TLS 1.2 with AEAD suites only (as Kubernetes), and TLS 1.3."""

from __future__ import annotations

import ssl

import pytest

from tests.helpers.cluster import Server
from tests.helpers.tls_probe import AEAD, CBC_ONLY, handshake


def test_api_server_refuses_cbc_and_accepts_aead_and_tls13(server: Server) -> None:
    with pytest.raises(ssl.SSLError):
        handshake(server.port, tls12_ciphers=CBC_ONLY)
    assert handshake(server.port, tls12_ciphers=AEAD)[0] == "TLSv1.2"
    assert handshake(server.port)[0] == "TLSv1.3"
    assert server.kubectl("get", "namespaces", "default", "-o", "name").stdout.strip() == "namespace/default"
