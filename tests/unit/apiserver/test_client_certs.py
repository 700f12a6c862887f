"""Client certificates for users: the subject kube-apiserver reads (CN user, O groups), the
admin's kept across restarts and re-issued when the client CA changes, minted ones with
their own validity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509

from kubelite.apiserver import client_certs
from kubelite.apiserver.auth import certificate_user


def peercert(pem: bytes) -> dict[str, object]:
    """The subject as `SSLObject.getpeercert()` gives it."""
    cert = x509.load_pem_x509_certificate(pem)
    names = {x509.NameOID.COMMON_NAME: "commonName", x509.NameOID.ORGANIZATION_NAME: "organizationName"}
    return {"subject": tuple(((names[a.oid], a.value),) for a in cert.subject)}


def test_a_minted_certificate_names_the_user_and_groups(tmp_path: Path) -> None:
    cert, key = client_certs.mint(tmp_path, "alice", ["dev", "qa"], days=30)
    assert key.startswith(b"-----BEGIN PRIVATE KEY-----")
    user = certificate_user(peercert(cert))
    assert user is not None
    assert (user.name, user.groups) == ("alice", ("dev", "qa", "system:authenticated"))
    parsed = x509.load_pem_x509_certificate(cert)
    left = parsed.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29) < left <= dt.timedelta(days=30)
    ca = x509.load_pem_x509_certificate((tmp_path / "client-ca.crt").read_bytes())
    parsed.verify_directly_issued_by(ca)


def test_minting_refuses_no_user_and_no_days(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        client_certs.mint(tmp_path, "", [])
    with pytest.raises(ValueError):
        client_certs.mint(tmp_path, "bob", [], days=0)


def test_the_admin_certificate_is_kept_and_follows_the_client_ca(tmp_path: Path) -> None:
    cert, key = client_certs.ensure_admin(tmp_path)
    user = certificate_user(peercert(cert))
    assert user is not None and (user.name, user.groups[0]) == ("kubelite-admin", "system:masters")
    assert (tmp_path / "client-admin.key").stat().st_mode & 0o777 == 0o600
    assert client_certs.ensure_admin(tmp_path) == (cert, key)
    (tmp_path / "client-ca.crt").unlink()  # a new client CA: the old certificate is no user
    (tmp_path / "client-ca.key").unlink()
    assert client_certs.ensure_admin(tmp_path)[0] != cert
