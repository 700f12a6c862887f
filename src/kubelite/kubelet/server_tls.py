"""The kubelet's serving certificate and the TLS context that asks for the API server's client certificate."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from cryptography.x509.oid import ExtendedKeyUsageOID

from kubelite import pki, tls

# The only client allowed: kube-apiserver's kubelet client certificate.
API_SERVER_CLIENT_CN = "kube-apiserver-kubelet-client"


def ensure_serving_cert(
    pki_dir: Path, hosts: list[str], *, ca_cert_file: Path | None = None, ca_key_file: Path | None = None
) -> tuple[Path, Path]:
    """`kubelet.crt`/`kubelet.key` in `pki_dir`: self-signed, or signed by the given CA."""
    crt, key_path = pki_dir / "kubelet.crt", pki_dir / "kubelet.key"
    if crt.exists() and key_path.exists():
        return crt, key_path
    key = pki.new_key()
    signer_key, issuer = key, None
    if ca_cert_file is not None and ca_key_file is not None:
        ca_cert, signer_key = pki.load_signer(ca_cert_file, ca_key_file)
        issuer = ca_cert.subject
    cert = pki.issue(
        f"{socket.gethostname()}@kubelet", key.public_key(), signer_key=signer_key, issuer=issuer,
        sans=pki.subject_alt_names({*hosts, *pki.local_hosts()}), usages=[ExtendedKeyUsageOID.SERVER_AUTH],
    )
    pki.write_pair(crt, key_path, cert, key)
    return crt, key_path


def server_context(cert: Path, key: Path, client_ca: Path) -> ssl.SSLContext:
    """Serving context that verifies client certificates against `client_ca`.

    A request without a certificate reaches us and gets a 401 Status instead of a bare
    handshake failure; a certificate that does not chain to the CA fails the handshake.
    """
    return tls.server_context(cert, key, client_ca=client_ca)


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
