"""Client certificates for users, signed by the client CA.

The API server takes a verified client certificate's common name as the user and each
organization as a group (`auth.certificate_user`), as kube-apiserver's x509 authenticator
does. The admin kubeconfig carries one (`CN=kubelite-admin, O=system:masters`, as kubeadm's
`kubernetes-admin` and k3s' `system:admin`), and `kubelite kubeconfig --user NAME --group G`
mints one for anyone else. Nodes get theirs through the join endpoint (apiserver/join.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubelite import pki
from kubelite.apiserver.certs import ensure_client_ca

ADMIN_USER = "kubelite-admin"
ADMIN_GROUPS = ("system:masters",)
ADMIN_CERT = "client-admin"  # DATA_DIR/tls/client-admin.{crt,key}
DEFAULT_DAYS = 365  # as kubeadm's and k3s' client certificates
RENEW_BEFORE = dt.timedelta(days=90)  # the admin certificate is re-issued this close to expiry (k3s)


def subject(user: str, groups: Sequence[str] = ()) -> x509.Name:
    """`O=group...`, then `CN=user`: the name kube-apiserver reads a user and groups from."""
    if not user:
        raise ValueError("a client certificate needs a user name")
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, user)])


def sign(signer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], public_key: ec.EllipticCurvePublicKey,
         user: str, groups: Sequence[str] = (), days: int = DEFAULT_DAYS) -> x509.Certificate:
    """A client-auth certificate for `public_key` naming `user` in `groups`."""
    ca_cert, ca_key = signer
    return pki.issue(subject(user, groups), public_key, signer_key=ca_key, issuer=ca_cert.subject,
                     usages=[ExtendedKeyUsageOID.CLIENT_AUTH], validity=dt.timedelta(days=days))


def mint(tls_dir: Path, user: str, groups: Sequence[str] = (), days: int = DEFAULT_DAYS) -> tuple[bytes, bytes]:
    """A new key and a certificate for it signed by the client CA: (certificate PEM, key PEM)."""
    if days < 1:
        raise ValueError(f"--days must be at least 1, not {days}")
    signer = pki.load_signer(*ensure_client_ca(tls_dir))
    key = pki.new_key()
    cert = sign(signer, key.public_key(), user, groups, days)
    return cert.public_bytes(serialization.Encoding.PEM), pki.key_pem(key)


def _still_good(crt: Path, ca_cert: x509.Certificate) -> bool:
    """Whether the certificate at `crt` was signed by `ca_cert` and is far from expiry."""
    try:
        cert = x509.load_pem_x509_certificate(crt.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
    except (OSError, ValueError, TypeError, InvalidSignature):
        return False
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE


def ensure_admin(tls_dir: Path) -> tuple[bytes, bytes]:
    """The admin's client certificate and key (PEM), kept in `client-admin.crt`/`.key`:
    made on first start, and again when the client CA changed or expiry is near."""
    crt, key_path = tls_dir / f"{ADMIN_CERT}.crt", tls_dir / f"{ADMIN_CERT}.key"
    ca_crt, ca_key = ensure_client_ca(tls_dir)
    signer = pki.load_signer(ca_crt, ca_key)
    if not (key_path.exists() and _still_good(crt, signer[0])):
        key = pki.new_key()
        pki.write_pair(crt, key_path, sign(signer, key.public_key(), ADMIN_USER, ADMIN_GROUPS), key)
    return crt.read_bytes(), key_path.read_bytes()
