"""The kubelet's serving certificate and the CN of a client certificate."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

from cryptography import x509

from kubelite import pki
from kubelite.kubelet.server_tls import ensure_serving_cert, peer_common_name


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _ca(tmp_path: Path) -> tuple[Path, Path]:
    key = pki.new_key()
    crt, key_file = tmp_path / "ca.crt", tmp_path / "ca.key"
    pki.write_pair(crt, key_file, pki.issue("test-ca", key.public_key(), signer_key=key, ca=True), key)
    return crt, key_file


def test_self_signed_without_a_ca(tmp_path: Path) -> None:
    crt, key = ensure_serving_cert(tmp_path / "pki", ["10.0.0.2", "node1"])
    assert (crt.name, key.name) == ("kubelet.crt", "kubelet.key")
    assert stat.S_IMODE(crt.stat().st_mode) == stat.S_IMODE(key.stat().st_mode) == 0o600
    cert = _load(crt)
    cert.verify_directly_issued_by(cert)
    assert cert.subject.rfc4514_string() == f"CN={socket.gethostname()}@kubelet"
    assert pki.san_hosts(cert) == {"10.0.0.2", "node1"} | pki.local_hosts()


def test_signed_by_the_given_ca_and_kept_afterwards(tmp_path: Path) -> None:
    ca_crt, ca_key = _ca(tmp_path)
    crt, _ = ensure_serving_cert(tmp_path / "pki", ["node1"], ca_cert_file=ca_crt, ca_key_file=ca_key)
    cert = _load(crt)
    cert.verify_directly_issued_by(_load(ca_crt))
    assert cert.issuer.rfc4514_string() == "CN=test-ca"
    first = crt.read_bytes()
    ensure_serving_cert(tmp_path / "pki", ["node2"], ca_cert_file=ca_crt, ca_key_file=ca_key)
    assert crt.read_bytes() == first


def test_peer_common_name_reads_the_subject() -> None:
    peer = {"subject": ((("organizationName", "system:masters"),), (("commonName", "kube-apiserver-kubelet-client"),))}
    assert peer_common_name(peer) == "kube-apiserver-kubelet-client"
    assert peer_common_name(None) is None
    assert peer_common_name({"subject": ()}) is None
