"""TLS certificates of Ingresses as files the proxy reads.

Each `kubernetes.io/tls` Secret an Ingress names becomes one PEM file (certificate chain, then
key) under the agent's data dir, mode 0600 in a 0700 directory, written atomically. Secrets
that are not TLS Secrets, or whose certificate or key does not parse, or do not match, are
left out (and logged by the caller): one bad Secret must not take the proxy down for every
other Ingress. The crt-list starts with a self-signed default certificate (made once) for
clients whose SNI name matches no Ingress, as traefik's "TRAEFIK DEFAULT CERT".
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kubelite.ingress.model import TlsEntry

TLS_TYPE = "kubernetes.io/tls"
DEFAULT_CERT_NAME = "kubelite ingress default certificate"


class BadSecret(ValueError):
    """The Secret is not a usable TLS Secret; the message says why."""


def write_private(path: Path, data: bytes) -> bool:
    """Write `data` to `path` (mode 0600) atomically; False when it already held exactly that."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return True


def pem_of(secret: dict[str, Any]) -> bytes:
    """The proxy's PEM (chain then key) of a TLS Secret; BadSecret if it is not one."""
    if secret.get("type") != TLS_TYPE:
        raise BadSecret(f"type is {secret.get('type')!r}, not {TLS_TYPE}")
    data = secret.get("data") or {}
    try:
        crt = base64.b64decode(data.get("tls.crt") or "", validate=True)
        key = base64.b64decode(data.get("tls.key") or "", validate=True)
    except (binascii.Error, ValueError) as e:
        raise BadSecret(f"not base64: {e}") from e
    try:
        certs = x509.load_pem_x509_certificates(crt)
        private = serialization.load_pem_private_key(key, None)
    except ValueError as e:
        raise BadSecret(f"tls.crt or tls.key does not parse: {e}") from e
    if certs[0].public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) \
            != private.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo):
        raise BadSecret("tls.key does not match the certificate of tls.crt")
    return crt.rstrip(b"\n") + b"\n" + key.rstrip(b"\n") + b"\n"


def default_pem() -> bytes:
    from kubelite import pki

    key = ec.generate_private_key(ec.SECP256R1())
    cert = pki.issue(DEFAULT_CERT_NAME, key.public_key(), signer_key=key,
                     sans=pki.subject_alt_names([DEFAULT_CERT_NAME.replace(" ", "-")]))
    return (cert.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))


@dataclass
class CertificateDir:
    """The directory of certificate files and the crt-list naming them."""

    root: Path

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        self.default = self.root / "default.pem"
        if not self.default.exists():
            write_private(self.default, default_pem())

    @property
    def crt_list(self) -> Path:
        return self.root / "crt-list"

    def file_of(self, namespace: str, secret: str) -> Path:
        return self.root / f"{namespace}_{secret}.pem"  # names are DNS subdomains: no "_" or "/"

    def write(self, tls: tuple[TlsEntry, ...], pems: dict[tuple[str, str], bytes]) -> bool:
        """Write the certificates in `pems` and the crt-list of the entries that have one,
        removing files no longer named; True when anything changed."""
        changed = False
        keep = {self.default.name, self.crt_list.name}
        for (namespace, secret), pem in pems.items():
            path = self.file_of(namespace, secret)
            keep.add(path.name)
            changed |= write_private(path, pem)
        lines = [str(self.default)]
        for entry in tls:
            if (entry.namespace, entry.secret) in pems:
                lines.append(" ".join([str(self.file_of(entry.namespace, entry.secret)), *entry.hosts]))
        changed |= write_private(self.crt_list, ("\n".join(lines) + "\n").encode())
        for path in self.root.iterdir():
            if path.name not in keep and not path.name.startswith("."):
                path.unlink(missing_ok=True)
                changed = True
        return changed
