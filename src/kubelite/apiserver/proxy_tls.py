"""The API server's client certificate for kubelets (CN kube-apiserver-kubelet-client), issued once from the cluster CA."""

from __future__ import annotations

import datetime as dt
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KUBELET_CLIENT_CN = "kube-apiserver-kubelet-client"
VALIDITY = dt.timedelta(days=3650)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def ensure_kubelet_client_cert(tls_dir: Path) -> tuple[Path, Path]:
    """`kubelet-client.crt`/`.key` in `tls_dir`, signed by its `ca.crt`/`ca.key`."""
    crt, key_path = tls_dir / "kubelet-client.crt", tls_dir / "kubelet-client.key"
    if crt.exists() and key_path.exists():
        return crt, key_path
    ca_cert = x509.load_pem_x509_certificate((tls_dir / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((tls_dir / "ca.key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
            x509.NameAttribute(NameOID.COMMON_NAME, KUBELET_CLIENT_CN),
        ]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    _write_private(crt, cert.public_bytes(serialization.Encoding.PEM))
    return crt, key_path


def kubelet_client_context(tls_dir: Path) -> ssl.SSLContext:
    """Presents our client certificate; does not verify the kubelet's serving certificate
    (kube-apiserver's default without --kubelet-certificate-authority)."""
    crt, key = ensure_kubelet_client_cert(tls_dir)
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(str(crt), str(key))
    return ctx
