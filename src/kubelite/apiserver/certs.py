"""The cluster CA and the API server's serving certificate, made on first start."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALIDITY = dt.timedelta(days=3650)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_ca(tls_dir: Path) -> tuple[Path, Path]:
    """The CA certificate and key paths, creating them if absent."""
    crt, key_path = tls_dir / "ca.crt", tls_dir / "ca.key"
    if crt.exists() and key_path.exists():
        return crt, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubelite-ca")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_private(crt, cert.public_bytes(serialization.Encoding.PEM))
    return crt, key_path


def ensure_serving_cert(tls_dir: Path, hosts: list[str], name: str = "server") -> tuple[Path, Path]:
    """A serving certificate signed by the cluster CA for `hosts` (IPs and DNS names).

    Re-issued when the wanted names are not all in the existing certificate.
    """
    ca_crt, ca_key_path = ensure_ca(tls_dir)
    crt, key_path = tls_dir / f"{name}.crt", tls_dir / f"{name}.key"
    wanted = sorted(set(hosts) | {"127.0.0.1", "localhost", socket.gethostname()})
    if crt.exists() and key_path.exists():
        existing = x509.load_pem_x509_certificate(crt.read_bytes())
        try:
            san = existing.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            have = {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(
                san.get_values_for_type(x509.DNSName)
            )
            if set(wanted) <= have:
                return crt, key_path
        except x509.ExtensionNotFound:
            pass
    ca_cert = x509.load_pem_x509_certificate(ca_crt.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for h in wanted:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"kubelite-{name}")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    _write_private(crt, cert.public_bytes(serialization.Encoding.PEM))
    return crt, key_path
