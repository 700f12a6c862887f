"""TLS Secrets become 0600 PEM files and a crt-list (default certificate first); Secrets that
are not usable TLS Secrets are refused with a reason."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubelite import pki
from kubelite.ingress.certificates import BadSecret, CertificateDir, pem_of
from kubelite.ingress.model import TlsEntry


def tls_secret(crt: bytes, key: bytes, kind: str = "kubernetes.io/tls") -> dict[str, Any]:
    return {"type": kind, "data": {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode()}}


def pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = pki.issue("a.example.com", key.public_key(), signer_key=key)
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def test_pem_of_a_tls_secret_and_refusals() -> None:
    crt, key = pair()
    pem = pem_of(tls_secret(crt, key))
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----") and b"PRIVATE KEY" in pem
    _, other_key = pair()
    with pytest.raises(BadSecret, match="does not match"):
        pem_of(tls_secret(crt, other_key))
    with pytest.raises(BadSecret, match="not kubernetes.io/tls"):
        pem_of(tls_secret(crt, key, "Opaque"))
    with pytest.raises(BadSecret, match="does not parse"):
        pem_of(tls_secret(b"junk", key))


def test_files_are_private_and_the_list_names_sni_hosts(tmp_path: Path) -> None:
    certs = CertificateDir(tmp_path / "certs")
    crt, key = pair()
    pem = pem_of(tls_secret(crt, key))
    entries = (TlsEntry("web", "a-tls", ("a.example.com", "*.b.example.com")), TlsEntry("web", "missing", ()))
    assert certs.write(entries, {("web", "a-tls"): pem})
    assert not certs.write(entries, {("web", "a-tls"): pem})  # nothing changed
    lines = certs.crt_list.read_text().splitlines()
    assert lines == [str(certs.default), f"{certs.file_of('web', 'a-tls')} a.example.com *.b.example.com"]
    for path in (certs.default, certs.file_of("web", "a-tls"), certs.crt_list):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(certs.root.stat().st_mode) == 0o700
    assert certs.write((), {})
    assert not certs.file_of("web", "a-tls").exists()  # no longer named: removed
