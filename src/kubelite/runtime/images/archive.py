"""Read images out of an OCI image layout (a directory or a tar of one) or a docker-archive.

The result is the same shape a registry pull produces (manifest bytes by digest, the parsed
manifest, and where each blob is), so the store imports both the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass

from .errors import ImageCorrupt
from .manifest import (
    DOCKER_MANIFEST,
    INDEX_TYPES,
    Descriptor,
    Manifest,
    decode_json,
    media_type_of,
    parse_manifest,
    select_platform,
    sha256_digest,
)
from .reference import parse_reference

CONTAINERD_NAME = "io.containerd.image.name"
OCI_REF_NAME = "org.opencontainers.image.ref.name"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"


@dataclass
class ArchiveImage:
    """One image found in an archive, ready to be copied into the store."""

    reference: str
    digest: str  # what the name points at (index or manifest)
    manifest: Manifest
    raws: dict[str, bytes]  # digest -> manifest/index bytes
    blob_paths: dict[str, str]  # digest -> file holding that blob


def extract_tar(path: str, into: str) -> str:
    """Unpack an archive file into the directory ``into`` (refusing unsafe names)."""
    try:
        with tarfile.open(path) as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as e:
        raise ImageCorrupt(f"{path}: cannot read the image archive: {e}") from e
    return into


def read_layout(root: str, *, reference: str | None = None) -> list[ArchiveImage]:
    """The images of an OCI layout or docker-archive directory."""
    if os.path.exists(os.path.join(root, "index.json")):
        return _read_oci(root, reference)
    if os.path.exists(os.path.join(root, "manifest.json")):
        return _read_docker(root, reference)
    raise ImageCorrupt(
        f"{root}: neither an OCI image layout (index.json) nor a docker-archive (manifest.json)"
    )


def copy_verified(source: str, desc: Descriptor, dest: str) -> None:
    """Copy ``source`` to ``dest`` atomically if its size and sha256 match ``desc``."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".import-")
    try:
        hasher, size = hashlib.sha256(), 0
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            while chunk := src.read(1024 * 1024):
                hasher.update(chunk)
                size += len(chunk)
                out.write(chunk)
        got = "sha256:" + hasher.hexdigest()
        if size != desc.size or got != desc.digest:
            raise ImageCorrupt(
                f"{source}: blob is {size} bytes with digest {got}, "
                f"expected {desc.size} bytes with {desc.digest}"
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _read_oci(root: str, reference: str | None) -> list[ArchiveImage]:
    index_raw = _read(os.path.join(root, "index.json"))
    entries = decode_json(index_raw, what="index.json").get("manifests") or []
    if reference and len(entries) != 1:
        raise ValueError(f"{root}: holds {len(entries)} images; a reference names exactly one")
    images = []
    for i, entry in enumerate(entries):
        desc = Descriptor.from_dict(entry, what=f"index.json entry {i}")
        name = reference or _oci_name(entry.get("annotations") or {})
        if name is None:
            raise ValueError(
                f"{root}: image {desc.digest} has no name (no {CONTAINERD_NAME} annotation and "
                f"{OCI_REF_NAME} is only a tag); pass the reference to import it under"
            )
        name = str(parse_reference(name))
        raw = _read_blob(root, desc)
        raws = {desc.digest: raw}
        if media_type_of(raw, desc.media_type) in INDEX_TYPES:
            platform_desc = select_platform(raw, ref=name)
            raw = _read_blob(root, platform_desc)
            raws[platform_desc.digest] = raw
        manifest = parse_manifest(raw)
        paths = {d.digest: _blob_path(root, d.digest) for d in [manifest.config, *manifest.layers]}
        images.append(ArchiveImage(name, desc.digest, manifest, raws, paths))
    return images


def _oci_name(annotations: dict[str, str]) -> str | None:
    if annotations.get(CONTAINERD_NAME):
        return annotations[CONTAINERD_NAME]
    ref_name = annotations.get(OCI_REF_NAME, "")
    return ref_name if "/" in ref_name else None  # a bare tag names no repository


def _read_docker(root: str, reference: str | None) -> list[ArchiveImage]:
    entries = json.loads(_read(os.path.join(root, "manifest.json")))
    if not isinstance(entries, list):
        raise ImageCorrupt(f"{root}: manifest.json is not a list")
    images = []
    for entry in entries:
        tags = entry.get("RepoTags") or []
        name = reference or (tags[0] if tags else None)
        if name is None:
            raise ValueError(
                f"{root}: image {entry.get('Config')} has no RepoTags; pass a reference"
            )
        config = _file_descriptor(root, entry["Config"], DOCKER_CONFIG)
        layers = [_file_descriptor(root, layer, DOCKER_LAYER) for layer in entry["Layers"]]
        manifest_doc = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": _descriptor_dict(config),
            "layers": [_descriptor_dict(d) for d in layers],
        }
        raw = json.dumps(manifest_doc, separators=(",", ":")).encode()
        digest = sha256_digest(raw)
        paths = {config.digest: os.path.join(root, entry["Config"])}
        paths.update(
            {d.digest: os.path.join(root, p) for d, p in zip(layers, entry["Layers"], strict=True)}
        )
        images.append(
            ArchiveImage(
                str(parse_reference(name)), digest, parse_manifest(raw), {digest: raw}, paths
            )
        )
    return images


def _file_descriptor(root: str, rel: str, media_type: str) -> Descriptor:
    path = os.path.join(root, rel)
    hasher, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            hasher.update(chunk)
            size += len(chunk)
    return Descriptor(media_type, "sha256:" + hasher.hexdigest(), size)


def _descriptor_dict(desc: Descriptor) -> dict[str, object]:
    return {"mediaType": desc.media_type, "digest": desc.digest, "size": desc.size}


def _blob_path(root: str, digest: str) -> str:
    algorithm, hex_part = digest.split(":", 1)
    return os.path.join(root, "blobs", algorithm, hex_part)


def _read_blob(root: str, desc: Descriptor) -> bytes:
    raw = _read(_blob_path(root, desc.digest))
    if sha256_digest(raw) != desc.digest:
        raise ImageCorrupt(f"{root}: blob {desc.digest} does not match its digest")
    return raw


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ImageCorrupt(f"cannot read {path}: {e}") from e
