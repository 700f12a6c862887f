"""The API server's client certificate for kubelets (CN kube-apiserver-kubelet-client), issued once from the cluster CA."""

from __future__ import annotations

import ssl
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubelite import pki

KUBELET_CLIENT_CN = "kube-apiserver-kubelet-client"


def ensure_kubelet_client_cert(tls_dir: Path) -> tuple[Path, Path]:
    """`kubelet-client.crt`/`.key` in `tls_dir`, signed by its `ca.crt`/`ca.key`."""
    crt, key_path = tls_dir / "kubelet-client.crt", tls_dir / "kubelet-client.key"
    if crt.exists() and key_path.exists():
        return crt, key_path
    ca_cert, ca_key = pki.load_signer(tls_dir / "ca.crt", tls_dir / "ca.key")
    key = pki.new_key()
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
        x509.NameAttribute(NameOID.COMMON_NAME, KUBELET_CLIENT_CN),
    ])
    cert = pki.issue(subject, key.public_key(), signer_key=ca_key, issuer=ca_cert.subject,
                     usages=[ExtendedKeyUsageOID.CLIENT_AUTH])
    pki.write_pair(crt, key_path, cert, key)
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
