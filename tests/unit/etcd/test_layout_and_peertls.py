"""Where the embedded etcd keeps its files, and its peer certificates (one peer CA per
cluster, one certificate per server for both sides of peer connections)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from kubelite import pki
from kubelite.etcd import layout, peertls


def test_the_member_name_is_made_once_and_unique_per_data_dir(tmp_path: Path) -> None:
    a, b = layout.member_name(tmp_path / "a"), layout.member_name(tmp_path / "b")
    assert a != b and layout.member_name(tmp_path / "a") == a
    assert stat.S_IMODE((tmp_path / "a" / "db" / "etcd-name").stat().st_mode) == 0o600


def test_urls_put_clients_on_loopback_and_peers_on_the_advertised_address(tmp_path: Path) -> None:
    urls = layout.member_urls(tmp_path, "192.0.2.7", 2379, 2380)
    assert urls.client_url == "http://127.0.0.1:2379" and urls.peer_url == "https://192.0.2.7:2380"
    assert urls.initial_cluster() == f"{urls.name}=https://192.0.2.7:2380"
    assert layout.peer_url("2001:db8::1", 2380) == "https://[2001:db8::1]:2380"
    layout.write_config(tmp_path, urls)
    assert layout.read_config(tmp_path) == urls


def test_reading_the_config_of_a_data_dir_without_etcd_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(layout.EtcdConfigError, match="--cluster-init"):
        layout.read_config(tmp_path)
    assert not layout.has_member(tmp_path)
    (layout.etcd_dir(tmp_path) / "member" / "wal").mkdir(parents=True)
    assert layout.has_member(tmp_path)


def test_a_restore_moves_the_old_data_aside(tmp_path: Path) -> None:
    layout.make_etcd_dir(tmp_path)
    assert stat.S_IMODE(layout.etcd_dir(tmp_path).stat().st_mode) == 0o700
    (layout.etcd_dir(tmp_path) / "x").write_text("old")
    old = layout.move_aside(tmp_path, 42)
    assert old.name == "etcd-old-42" and (old / "x").read_text() == "old"
    assert not layout.etcd_dir(tmp_path).exists()


def test_the_peer_certificate_serves_and_authenticates_its_address(tmp_path: Path) -> None:
    crt, key = peertls.ensure_peer_cert(tmp_path, {"192.0.2.7"})
    cert = x509.load_pem_x509_certificate(crt.read_bytes())
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert {"192.0.2.7", "127.0.0.1"} <= pki.san_hosts(cert)
    ca = x509.load_pem_x509_certificate((tmp_path / "peer-ca.crt").read_bytes())
    cert.verify_directly_issued_by(ca)
    assert peertls.ensure_peer_cert(tmp_path, {"192.0.2.7"}) == (crt, key)
    assert crt.read_bytes() == cert.public_bytes(pki.serialization.Encoding.PEM)  # kept


def test_the_peer_certificate_is_made_again_for_a_new_address_or_a_new_peer_ca(tmp_path: Path) -> None:
    crt, _ = peertls.ensure_peer_cert(tmp_path, {"192.0.2.7"})
    first = crt.read_bytes()
    peertls.ensure_peer_cert(tmp_path, {"192.0.2.8"})
    assert crt.read_bytes() != first and "192.0.2.8" in pki.san_hosts(x509.load_pem_x509_certificate(crt.read_bytes()))
    second = crt.read_bytes()
    for name in ("peer-ca.crt", "peer-ca.key"):  # a joining server takes the cluster's peer CA
        (tmp_path / name).unlink()
    peertls.ensure_peer_cert(tmp_path, {"192.0.2.8"})
    assert crt.read_bytes() != second
    ca = x509.load_pem_x509_certificate((tmp_path / "peer-ca.crt").read_bytes())
    x509.load_pem_x509_certificate(crt.read_bytes()).verify_directly_issued_by(ca)
