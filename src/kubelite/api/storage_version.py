"""The storage version hash that discovery publishes for each stored resource.

kube-apiserver (k8s.io/apiserver pkg/endpoints/discovery/storageversionhash.go) hashes
"group/version/kind" of the version an object is written to the store in, so clients
(the storage version migrator, kubectl's discovery cache) can tell when it changes
without learning what it is: base64 of the first 8 bytes of the SHA-256.
"""

from __future__ import annotations

import base64
import hashlib


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """`storageVersionHash` for objects stored as group/version/kind ("" for no kind)."""
    if not kind:
        return ""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()
