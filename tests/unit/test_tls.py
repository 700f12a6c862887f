"""The TLS settings every kubelite server shares: TLS 1.2 with AEAD suites only, and TLS 1.3."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelite import pki, tls
from tests.helpers.tls_probe import AEAD, CBC_ONLY, handshake


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    """A loopback server that completes handshakes with tls.server_context, then hangs up."""
    key = pki.new_key()
    cert = pki.issue("tls-test", key.public_key(), signer_key=key, sans=pki.subject_alt_names({"127.0.0.1"}))
    pki.write_pair(tmp_path / "s.crt", tmp_path / "s.key", cert, key)
    ctx = tls.server_context(tmp_path / "s.crt", tmp_path / "s.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(10)
            try:
                with ctx.wrap_socket(raw, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_tls12_client_offering_only_cbc_suites_is_refused(port: int) -> None:
    with pytest.raises(ssl.SSLError):
        handshake(port, tls12_ciphers=CBC_ONLY)


def test_tls12_with_an_aead_suite_is_accepted(port: int) -> None:
    assert handshake(port, tls12_ciphers=AEAD) == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")


def test_tls13_is_accepted(port: int) -> None:
    version, cipher = handshake(port)
    assert version == "TLSv1.3" and cipher.startswith("TLS_")


def test_only_ecdhe_aead_suites_are_configured_for_tls12() -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_ciphers(":".join(tls.TLS12_CIPHERS))
    tls12 = [c for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert {c["name"] for c in tls12} == set(tls.TLS12_CIPHERS)
    assert all(c["aead"] and c["kea"] == "kx-ecdhe" for c in tls12)
