"""Kubernetes' EncryptionConfiguration (apiserver.config.k8s.io/v1), read into transformers
per resource, and the k3s-style file kubelite makes for a new cluster.

```yaml
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets, "*.apps"]
  providers:
  - aescbc: {keys: [{name: key1, secret: <32 random bytes, base64>}]}
  - identity: {}
```

Resources are named as kube-apiserver names them: `secrets` (the core group), `deployments.apps`,
`*.apps` (a whole group), `*.` (the whole core group), `*.*` (everything). The first entry that
names a resource decides its providers.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from kubelite.store.encryption.providers import (
    AES_KEY_SIZES,
    SECRETBOX_KEY_SIZE,
    AesCbc,
    AesGcm,
    Identity,
    Prefixed,
    PrefixTransformers,
    Secretbox,
    Transformer,
)

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"
KEY_PREFIX = "/registry/"
CORE_SEGMENT = "core"  # how the store keys name the core group
DEFAULT_KEY_NAME = "aescbckey"  # k3s' name for the first key

_KEYED: dict[str, tuple[Callable[[bytes], Transformer], tuple[int, ...]]] = {
    "aescbc": (AesCbc, AES_KEY_SIZES),
    "aesgcm": (AesGcm, AES_KEY_SIZES),
    "secretbox": (Secretbox, (SECRETBOX_KEY_SIZE,)),
}


class EncryptionConfig:
    """Which providers guard which resources, looked up by store key."""

    def __init__(self, entries: list[tuple[tuple[str, ...], PrefixTransformers]]) -> None:
        self.entries = entries
        self._by_resource: dict[str, PrefixTransformers | None] = {}

    def for_key(self, key: str) -> PrefixTransformers | None:
        """The providers of the resource a store key belongs to (None: stored as is)."""
        if not key.startswith(KEY_PREFIX):
            return None
        parts = key.split("/", 4)  # "", "registry", group, plural, rest
        if len(parts) < 4:
            return None
        resource = parts[2] + "/" + parts[3]
        try:
            return self._by_resource[resource]
        except KeyError:
            found = self._by_resource[resource] = self._lookup(parts[2], parts[3])
            return found

    def _lookup(self, segment: str, plural: str) -> PrefixTransformers | None:
        group = "" if segment == CORE_SEGMENT else segment
        for names, transformers in self.entries:
            for name in names:
                res, _, grp = name.partition(".")
                if grp == group and res in ("*", plural) or name == "*.*":
                    return transformers
        return None

    def resources(self) -> list[str]:
        return [name for names, _ in self.entries for name in names]

    def writes_plain(self) -> bool:
        return all(not t.writer.prefix for _, t in self.entries)


def parse(doc: dict[str, Any]) -> EncryptionConfig:
    """The transformers a configuration names. Raises ValueError with what is wrong."""
    if doc.get("kind") != KIND or doc.get("apiVersion") not in (API_VERSION, "apiserver.config.k8s.io/v1beta1"):
        raise ValueError(f"not an {KIND} of {API_VERSION}: kind {doc.get('kind')!r}, "
                         f"apiVersion {doc.get('apiVersion')!r}")
    entries = []
    for i, entry in enumerate(doc.get("resources") or []):
        names = tuple(str(n) for n in entry.get("resources") or [])
        if not names:
            raise ValueError(f"resources[{i}].resources: Required value")
        providers = [p for spec in entry.get("providers") or [] for p in _providers(spec, i)]
        if not providers:
            raise ValueError(f"resources[{i}].providers: Required value")
        entries.append((names, PrefixTransformers(providers)))
    return EncryptionConfig(entries)


def _providers(spec: dict[str, Any], index: int) -> list[Prefixed]:
    if len(spec) != 1:
        raise ValueError(f"resources[{index}].providers: exactly one provider type per entry, got {sorted(spec)}")
    (name, body), = spec.items()
    if name == "identity":
        return [Prefixed(b"", Identity(), "identity")]
    if name == "kms":
        raise ValueError(f"resources[{index}].providers: the kms provider is not supported by kubelite")
    if name not in _KEYED:
        raise ValueError(f"resources[{index}].providers: unknown provider {name!r}")
    make, sizes = _KEYED[name]
    out = []
    for key in (body or {}).get("keys") or []:
        key_name, secret = str(key.get("name") or ""), _secret(key.get("secret"), sizes, name)
        if not key_name:
            raise ValueError(f"resources[{index}].providers.{name}.keys.name: Required value")
        out.append(Prefixed(f"k8s:enc:{name}:v1:{key_name}:".encode(), make(secret), name, key_name))
    if not out:
        raise ValueError(f"resources[{index}].providers.{name}.keys: Required value")
    return out


def _secret(text: Any, sizes: tuple[int, ...], provider: str) -> bytes:
    try:
        raw = base64.b64decode(str(text or ""), validate=True)
    except binascii.Error:
        raise ValueError(f"{provider} key secret is not valid base64") from None
    if len(raw) not in sizes:
        raise ValueError(f"secret is not of the expected length, got {len(raw)}, expected one of {list(sizes)}")
    return raw


# -- the file ------------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    """The configuration document at `path` (JSON or YAML)."""
    doc = yaml.safe_load(path.read_text())
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not an {KIND}")
    return doc


def save(path: Path, doc: dict[str, Any]) -> None:
    """Write atomically, mode 0600 (the file holds the keys)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
    tmp.replace(path)


def new_key(name: str = DEFAULT_KEY_NAME) -> dict[str, str]:
    return {"name": name, "secret": base64.b64encode(secrets.token_bytes(32)).decode()}


def default_document() -> dict[str, Any]:
    """What k3s writes for `--secrets-encryption`: Secrets under one AES-CBC key, identity
    kept to read what was stored before."""
    return {"kind": KIND, "apiVersion": API_VERSION,
            "resources": [{"resources": ["secrets"],
                           "providers": [{"aescbc": {"keys": [new_key()]}}, {"identity": {}}]}]}
