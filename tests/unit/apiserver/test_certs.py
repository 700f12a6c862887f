"""The cluster CA and the API server's serving certificate on disk."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from kubelite import pki
from kubelite.apiserver.certs import ensure_ca, ensure_serving_cert


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _cn(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_ca_is_made_once_with_private_files(tmp_path: Path) -> None:
    crt, key = ensure_ca(tmp_path / "tls")
    assert (crt.name, key.name) == ("ca.crt", "ca.key")
    assert stat.S_IMODE(crt.stat().st_mode) == stat.S_IMODE(key.stat().st_mode) == 0o600
    first = crt.read_bytes()
    assert ensure_ca(tmp_path / "tls") == (crt, key) and crt.read_bytes() == first
    assert _cn(_load(crt)) == "kubelite-ca"


def test_serving_certificate_is_signed_by_the_ca_for_the_hosts_and_localhost(tmp_path: Path) -> None:
    crt, key = ensure_serving_cert(tmp_path, ["10.0.0.1", "api.example"])
    assert (crt.name, key.name) == ("server.crt", "server.key")
    cert, ca = _load(crt), _load(tmp_path / "ca.crt")
    cert.verify_directly_issued_by(ca)
    assert _cn(cert) == "kubelite-server"
    assert pki.san_hosts(cert) == {"10.0.0.1", "api.example"} | pki.local_hosts()


def test_serving_certificate_is_reissued_only_for_new_names(tmp_path: Path) -> None:
    crt, _ = ensure_serving_cert(tmp_path, ["10.0.0.1", "api.example"])
    first = crt.read_bytes()
    ensure_serving_cert(tmp_path, ["api.example"])
    assert crt.read_bytes() == first
    ensure_serving_cert(tmp_path, ["10.0.0.2"])
    assert crt.read_bytes() != first
    assert "10.0.0.2" in pki.san_hosts(_load(crt))


def test_apiserver_hosts_cover_every_machine_address_tls_sans_and_in_cluster_names() -> None:
    from kubelite import hostaddr
    from kubelite.apiserver.certs import apiserver_hosts

    hosts = apiserver_hosts("0.0.0.0", ["api.example", "203.0.113.7", ""], "10.96.0.0/12")
    assert hostaddr.machine_addresses() <= hosts and "127.0.0.1" in hosts
    assert {"api.example", "203.0.113.7", "10.96.0.1", "kubernetes.default.svc.cluster.local"} <= hosts
    assert "0.0.0.0" not in hosts and "" not in hosts


def test_the_client_ca_is_another_ca(tmp_path: Path) -> None:
    from kubelite.apiserver.certs import ensure_client_ca

    crt, _ = ensure_client_ca(tmp_path)
    assert crt.name == "client-ca.crt" and _cn(_load(crt)) == "kubelite-client-ca"
    assert crt.read_bytes() != ensure_ca(tmp_path)[0].read_bytes()
