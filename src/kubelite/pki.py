"""Making X.509 certificates: the pieces the API server's and the kubelet's certificates share.

Every certificate here has an EC P-256 key, is signed with SHA-256, and is valid from five
minutes ago (some clock skew between machines) for ten years. Keys and certificates are
written as PEM files with mode 0600. This module imports nothing of kubelite, so both the
API server and the kubelet can use it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALIDITY = dt.timedelta(days=3650)
CLOCK_SKEW = dt.timedelta(minutes=5)

# What a CA's key may do: digital signatures, signing certificates and CRLs.
CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
    key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` with mode 0600, atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def new_key() -> ec.EllipticCurvePrivateKey:
    """A fresh EC P-256 private key."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The unencrypted PKCS#8 PEM of `key`."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_pair(crt: Path, key_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    """Write the key, then the certificate, both 0600 (a certificate on disk always has its key)."""
    write_private(key_path, key_pem(key))
    write_private(crt, cert.public_bytes(serialization.Encoding.PEM))


def load_signer(cert_file: Path, key_file: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A CA's certificate and EC private key, read from PEM files."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    key = serialization.load_pem_private_key(key_file.read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_file}: not an EC private key")
    return cert, key


def local_hosts() -> set[str]:
    """Names every serving certificate carries besides the asked ones: loopback and this host's name."""
    return {"127.0.0.1", "localhost", socket.gethostname()}


def subject_alt_names(hosts: Iterable[str]) -> x509.SubjectAlternativeName:
    """Each distinct host once, in sorted order: an IP address entry if it parses as one, else a DNS name."""
    names: list[x509.GeneralName] = []
    for h in sorted(set(hosts)):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return x509.SubjectAlternativeName(names)


def san_hosts(cert: x509.Certificate) -> set[str]:
    """The IP addresses and DNS names of `cert`'s SubjectAlternativeName, as strings (empty if none)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} | set(san.get_values_for_type(x509.DNSName))


def issue(
    subject: str | x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    *,
    signer_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None = None,
    sans: x509.SubjectAlternativeName | None = None,
    usages: Sequence[x509.ObjectIdentifier] = (),
    ca: bool = False,
    validity: dt.timedelta = VALIDITY,
) -> x509.Certificate:
    """A certificate for `public_key`, signed by `signer_key`.

    `subject` is a common name or a whole name; `issuer` defaults to the subject (self-signed).
    `usages` are extended key usages (e.g. `ExtendedKeyUsageOID.SERVER_AUTH`); `ca=True` makes a
    CA certificate (critical BasicConstraints and KeyUsage for signing certificates).
    `validity` counts from now (ten years unless said).
    """
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]) if isinstance(subject, str) else subject
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer if issuer is not None else name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(CA_KEY_USAGE, critical=True)
    if sans is not None:
        builder = builder.add_extension(sans, critical=False)
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    return builder.sign(signer_key, hashes.SHA256())
