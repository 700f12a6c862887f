"""The cluster CA and the API server's serving certificate, made on first start."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from kubelite import pki

CA_CN = "kubelite-ca"


def ensure_ca(tls_dir: Path) -> tuple[Path, Path]:
    """The CA certificate and key paths (`ca.crt`, `ca.key`), creating them if absent."""
    crt, key_path = tls_dir / "ca.crt", tls_dir / "ca.key"
    if crt.exists() and key_path.exists():
        return crt, key_path
    key = pki.new_key()
    cert = pki.issue(CA_CN, key.public_key(), signer_key=key, ca=True)
    pki.write_pair(crt, key_path, cert, key)
    return crt, key_path


def ensure_serving_cert(tls_dir: Path, hosts: list[str], name: str = "server") -> tuple[Path, Path]:
    """A serving certificate `<name>.crt`/`.key` signed by the cluster CA for `hosts` (IPs and DNS names).

    Re-issued when the wanted names are not all in the existing certificate.
    """
    ca_crt, ca_key_path = ensure_ca(tls_dir)
    crt, key_path = tls_dir / f"{name}.crt", tls_dir / f"{name}.key"
    wanted = set(hosts) | pki.local_hosts()
    if crt.exists() and key_path.exists():
        if wanted <= pki.san_hosts(x509.load_pem_x509_certificate(crt.read_bytes())):
            return crt, key_path
    ca_cert, ca_key = pki.load_signer(ca_crt, ca_key_path)
    key = pki.new_key()
    cert = pki.issue(
        f"kubelite-{name}", key.public_key(), signer_key=ca_key, issuer=ca_cert.subject,
        sans=pki.subject_alt_names(wanted), usages=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    pki.write_pair(crt, key_path, cert, key)
    return crt, key_path
