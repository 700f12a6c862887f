"""The bootstrap data a joining server copies from the cluster (k3s' `/v1-k3s/server-bootstrap`):
what every server must share to serve the same API on the same store. Each server makes its
own serving, peer and client certificates from these CAs.

Only the files named here travel, by these relative paths, both ways: a joining server never
writes a path the answer chose.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from kubelite import pki

FILES = (
    "tls/ca.crt", "tls/ca.key",  # the cluster CA: serving certificates, the join token's hash
    "tls/client-ca.crt", "tls/client-ca.key",  # users' and nodes' client certificates
    "tls/etcd/peer-ca.crt", "tls/etcd/peer-ca.key",  # etcd peer TLS
    "auth/service-account.key",  # service account tokens verify on every server
    "auth/node-token",  # the legacy shared node token
    "cred/encryption-config.json", "cred/encryption-state.json",  # Secrets at rest
)
MAX_BYTES = 1024 * 1024  # the whole answer; the files are a few kilobytes


class BootstrapError(ValueError):
    """The bootstrap answer is not what a kubelite server sends."""


def collect(data_dir: Path) -> dict[str, str]:
    """Path -> base64 of each bootstrap file this server has."""
    out: dict[str, str] = {}
    for rel in FILES:
        path = data_dir / rel
        if path.is_file():
            out[rel] = base64.b64encode(path.read_bytes()).decode()
    return out


def write(data_dir: Path, doc: object) -> list[str]:
    """Write the files of a bootstrap answer (mode 0600); the paths written. Unknown paths are
    refused; the cluster CA must be there."""
    if not isinstance(doc, dict) or "tls/ca.crt" not in doc or "tls/ca.key" not in doc:
        raise BootstrapError("the bootstrap answer has no cluster CA")
    files: dict[str, bytes] = {}
    for rel, value in doc.items():
        if rel not in FILES or not isinstance(value, str):
            raise BootstrapError(f"unexpected bootstrap entry {rel!r}")
        try:
            files[rel] = base64.b64decode(value, validate=True)
        except binascii.Error as e:
            raise BootstrapError(f"bootstrap entry {rel!r}: {e}") from e
    for rel, data in files.items():
        pki.write_private(data_dir / rel, data)
    return sorted(files)
