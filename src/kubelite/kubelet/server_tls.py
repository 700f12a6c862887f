"""The kubelet's serving certificate and the TLS context that asks for the API server's client certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The only client allowed: kube-apiserver's kubelet client certificate.
API_SERVER_CLIENT_CN = "kube-apiserver-kubelet-client"
VALIDITY = dt.timedelta(days=3650)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def ensure_serving_cert(
    pki_dir: Path, hosts: list[str], *, ca_cert_file: Path | None = None, ca_key_file: Path | None = None
) -> tuple[Path, Path]:
    """`kubelet.crt`/`kubelet.key` in `pki_dir`: self-signed, or signed by the given CA."""
    crt, key_path = pki_dir / "kubelet.crt", pki_dir / "kubelet.key"
    if crt.exists() and key_path.exists():
        return crt, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for h in sorted({*hosts, "127.0.0.1", "localhost", socket.gethostname()}):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{socket.gethostname()}@kubelet")])
    issuer, signer = subject, key
    if ca_cert_file is not None and ca_key_file is not None:
        issuer = x509.load_pem_x509_certificate(ca_cert_file.read_bytes()).subject
        ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        signer = ca_key
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(signer, hashes.SHA256())
    )
    _write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    _write_private(crt, cert.public_bytes(serialization.Encoding.PEM))
    return crt, key_path


def server_context(cert: Path, key: Path, client_ca: Path) -> ssl.SSLContext:
    """Serving context that verifies client certificates against `client_ca`.

    CERT_OPTIONAL rather than CERT_REQUIRED so a request without a certificate reaches us
    and gets a 401 Status instead of a bare handshake failure; a certificate that does not
    chain to the CA still fails the handshake.
    """
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_cert_chain(str(cert), str(key))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def peer_common_name(peercert: dict[str, object] | None) -> str | None:
    """The CN of a verified peer certificate (as `SSLObject.getpeercert()` returns it)."""
    if not peercert:
        return None
    subject = peercert.get("subject", ())
    for rdn in subject if isinstance(subject, tuple) else ():
        for attr, value in rdn:
            if attr == "commonName":
                return str(value)
    return None
