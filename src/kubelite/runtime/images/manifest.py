"""OCI and Docker manifest shapes: media types, parsing, and picking this host's platform."""

from __future__ import annotations

import hashlib
import json
import platform
import re
from dataclasses import dataclass
from typing import Any

from .errors import ImageCorrupt, ImageNotFound

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
# Always offer all four: a registry holding an OCI manifest answers 404 to a Docker-only Accept.
ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))

_DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")
_MACHINE_TO_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Any, *, what: str) -> Descriptor:
        if not isinstance(data, dict):
            raise ImageCorrupt(f"{what}: descriptor is not an object")
        digest, size = data.get("digest"), data.get("size")
        if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
            raise ImageCorrupt(f"{what}: bad or unsupported digest {digest!r}")
        if not isinstance(size, int) or size < 0:
            raise ImageCorrupt(f"{what}: bad size {size!r}")
        return cls(str(data.get("mediaType", "")), digest, size, data.get("platform"))


@dataclass(frozen=True)
class Manifest:
    """An image manifest for one platform: its config blob and its layers, bottom first."""

    config: Descriptor
    layers: list[Descriptor]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(text: str) -> bool:
    return bool(_DIGEST_RE.fullmatch(text))


def host_platform() -> tuple[str, str]:
    """``("linux", "amd64")`` on an x86-64 host: the GOOS/GOARCH names registries use."""
    machine = platform.machine().lower()
    return "linux", _MACHINE_TO_GOARCH.get(machine, machine)


def media_type_of(raw: bytes, content_type: str | None) -> str:
    """The manifest's media type: its own ``mediaType`` field, else the HTTP Content-Type."""
    doc = decode_json(raw, what="manifest")
    declared = doc.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if content_type:
        return content_type.split(";")[0].strip()
    return OCI_INDEX if "manifests" in doc else OCI_MANIFEST


def decode_json(raw: bytes, *, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except ValueError as e:
        raise ImageCorrupt(f"{what} is not valid JSON: {e}") from e
    if not isinstance(doc, dict):
        raise ImageCorrupt(f"{what} is not a JSON object")
    return doc


def parse_manifest(raw: bytes) -> Manifest:
    doc = decode_json(raw, what="manifest")
    if doc.get("schemaVersion") != 2:
        raise ImageCorrupt(f"unsupported manifest schemaVersion {doc.get('schemaVersion')!r}")
    config = Descriptor.from_dict(doc.get("config"), what="manifest config")
    layers_doc = doc.get("layers")
    if not isinstance(layers_doc, list):
        raise ImageCorrupt("manifest has no layers list")
    layers = [Descriptor.from_dict(d, what=f"manifest layer {i}") for i, d in enumerate(layers_doc)]
    return Manifest(config, layers)


def select_platform(raw_index: bytes, *, ref: str) -> Descriptor:
    """The entry of an index / manifest list for this host's os and architecture."""
    doc = decode_json(raw_index, what="image index")
    entries = doc.get("manifests")
    if not isinstance(entries, list):
        raise ImageCorrupt(f"{ref}: image index has no manifests list")
    want_os, want_arch = host_platform()
    for i, entry in enumerate(entries):
        desc = Descriptor.from_dict(entry, what=f"image index entry {i}")
        plat = desc.platform or {}
        if plat.get("os") == want_os and plat.get("architecture") == want_arch:
            return desc
    raise ImageNotFound(
        f"{ref}: no matching manifest for {want_os}/{want_arch} in the manifest list entries; "
        f"use an image built for {want_os}/{want_arch}"
    )
