"""The shared certificate maker: private files, keys, SubjectAlternativeNames, issuing."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubelite import pki


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_private_makes_a_0600_file_and_its_directory(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        pki.write_private(tmp_path / "a" / "b" / "x.key", b"secret")
    finally:
        os.umask(old)
    assert (tmp_path / "a" / "b" / "x.key").read_bytes() == b"secret"
    assert _mode(tmp_path / "a" / "b" / "x.key") == 0o600
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["x.key"]


def test_write_private_replaces_a_readable_file_with_a_private_one(tmp_path: Path) -> None:
    path = tmp_path / "x.crt"
    path.write_bytes(b"old")
    path.chmod(0o644)
    pki.write_private(path, b"new")
    assert path.read_bytes() == b"new" and _mode(path) == 0o600


def test_key_pem_is_unencrypted_pkcs8_that_loads_back() -> None:
    key = pki.new_key()
    pem = pki.key_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(pem, None)
    assert loaded.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


def test_subject_alt_names_splits_ips_from_dns_names_sorted_and_once() -> None:
    san = pki.subject_alt_names(["node-1", "10.0.0.1", "::1", "node-1", "example.com"])
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("::1")]
    assert san.get_values_for_type(x509.DNSName) == ["example.com", "node-1"]


def test_local_hosts_has_loopback_and_localhost() -> None:
    assert {"127.0.0.1", "localhost"} <= pki.local_hosts()


def test_ca_signed_certificate_verifies_against_the_ca_and_not_another() -> None:
    ca_key, other_key = pki.new_key(), pki.new_key()
    ca = pki.issue("test-ca", ca_key.public_key(), signer_key=ca_key, ca=True)
    other = pki.issue("test-ca", other_key.public_key(), signer_key=other_key, ca=True)
    leaf_key = pki.new_key()
    leaf = pki.issue(
        "leaf", leaf_key.public_key(), signer_key=ca_key, issuer=ca.subject,
        sans=pki.subject_alt_names(["127.0.0.1", "localhost"]), usages=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    leaf.verify_directly_issued_by(ca)
    with pytest.raises(InvalidSignature):
        leaf.verify_directly_issued_by(other)
    assert leaf.issuer == ca.subject
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "leaf"
    assert pki.san_hosts(leaf) == {"127.0.0.1", "localhost"}
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.BasicConstraints)


def test_ca_certificate_is_self_signed_and_may_sign_certificates() -> None:
    key = pki.new_key()
    ca = pki.issue("test-ca", key.public_key(), signer_key=key, ca=True)
    ca.verify_directly_issued_by(ca)
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert bc.critical and bc.value.ca
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert pki.san_hosts(ca) == set()
    with pytest.raises(x509.ExtensionNotFound):
        ca.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


def test_validity_starts_before_now_and_lasts_ten_years() -> None:
    key = pki.new_key()
    cert = pki.issue("x", key.public_key(), signer_key=key)
    now = dt.datetime.now(dt.UTC)
    assert cert.not_valid_before_utc < now < cert.not_valid_after_utc
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == pki.VALIDITY + pki.CLOCK_SKEW


def test_issue_takes_a_whole_subject_name() -> None:
    key = pki.new_key()
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
        x509.NameAttribute(NameOID.COMMON_NAME, "admin"),
    ])
    cert = pki.issue(name, key.public_key(), signer_key=key, usages=[ExtendedKeyUsageOID.CLIENT_AUTH])
    assert cert.subject == name == cert.issuer


def test_write_pair_and_load_signer_round_trip(tmp_path: Path) -> None:
    key = pki.new_key()
    ca = pki.issue("test-ca", key.public_key(), signer_key=key, ca=True)
    pki.write_pair(tmp_path / "ca.crt", tmp_path / "ca.key", ca, key)
    assert _mode(tmp_path / "ca.crt") == _mode(tmp_path / "ca.key") == 0o600
    cert, loaded = pki.load_signer(tmp_path / "ca.crt", tmp_path / "ca.key")
    assert cert == ca
    assert loaded.public_key().public_numbers() == key.public_key().public_numbers()


def test_load_signer_refuses_a_key_that_is_not_ec(tmp_path: Path) -> None:
    key = pki.new_key()
    pki.write_pair(tmp_path / "ca.crt", tmp_path / "ca.key", pki.issue("x", key.public_key(), signer_key=key), key)
    (tmp_path / "ca.key").write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(ValueError, match="not an EC private key"):
        pki.load_signer(tmp_path / "ca.crt", tmp_path / "ca.key")
