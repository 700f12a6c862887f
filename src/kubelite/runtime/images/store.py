"""The node's image store: content-addressed blobs, layers unpacked once, image records.

```
ROOT/blobs/sha256/<hex>                  manifests, configs, compressed layers
ROOT/layers/sha256/<diffid>/root         one unpacked layer, shared by every image using it
ROOT/layers/sha256/<diffid>/size         bytes of file content in it
ROOT/images.json                         reference -> ImageRecord
ROOT/tmp/                                work in progress (same filesystem, for renames)
```

Layers are unpacked into ``tmp/`` and renamed into place, so a layer directory that exists
is complete. One store per root and per process: concurrency is handled with asyncio.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from .archive import ArchiveImage, copy_verified, extract_tar, read_layout
from .config import RegistriesConfig, load_registries
from .credentials import DockerConfig
from .errors import ImageCorrupt, ImageNeverPull
from .manifest import Descriptor, Manifest, decode_json, is_digest
from .reference import Reference, parse_reference
from .registry_client import Progress, RegistryClient, Resolved
from .unpack import unpack_layer

PULL_ALWAYS = "Always"
PULL_IF_NOT_PRESENT = "IfNotPresent"
PULL_NEVER = "Never"
PULL_POLICIES = (PULL_ALWAYS, PULL_IF_NOT_PRESENT, PULL_NEVER)
MAX_PARALLEL_DOWNLOADS = 3

FetchBlob = Callable[[Descriptor, str], Awaitable[None]]
"""``fetch(descriptor, dest_path)``: put the verified blob at ``dest_path``."""


@dataclass
class ImageRecord:
    """One image known to the node, under one reference."""

    reference: str  # normalised: docker.io/library/busybox:latest
    digest: str  # what the reference resolved to (the index, for multi-platform images)
    manifest_digest: str  # this platform's manifest
    config_digest: str  # the image ID
    layers: list[str]  # diffIDs, bottom layer first
    layer_blobs: list[str]  # compressed layer digests, same order
    size: int  # bytes of config + compressed layers, as `crictl images` shows
    created: float  # when this node stored it (unix time); gc removes the oldest first

    @property
    def id(self) -> str:
        return self.config_digest

    @property
    def repo_digest(self) -> str:
        """``docker.io/library/busybox@sha256:...``: the container status ``imageID``."""
        return str(parse_reference(self.reference).with_digest(self.digest))


@dataclass
class GcResult:
    removed: list[str] = field(default_factory=list)  # references
    freed_bytes: int = 0


class ImageStore:
    """Pulls, imports, lists and removes images under ``root``."""

    def __init__(self, root: str, *, registries: RegistriesConfig | str | None = None) -> None:
        self.root = os.path.abspath(root)
        if isinstance(registries, RegistriesConfig):
            self.registries = registries
        else:
            self.registries = load_registries(registries)
        for sub in ("blobs/sha256", "layers/sha256", "tmp"):
            os.makedirs(os.path.join(self.root, sub), exist_ok=True)
        self._index_path = os.path.join(self.root, "images.json")
        self._records: dict[str, ImageRecord] = self._load_index()
        self._pulls: dict[str, asyncio.Task[ImageRecord]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._pinned: Counter[str] = Counter()  # content used by pulls in progress
        self._downloads = asyncio.Semaphore(MAX_PARALLEL_DOWNLOADS)

    # -- queries --------------------------------------------------------------------------

    def get(self, ref: str) -> ImageRecord | None:
        """The image named by a reference, a repo digest or an image ID (``sha256:...``)."""
        matches = self._matching(ref)
        return max(matches, key=lambda r: r.created) if matches else None

    def list(self) -> list[ImageRecord]:
        return sorted(self._records.values(), key=lambda r: r.reference)

    def layer_dirs(self, record: ImageRecord) -> builtins.list[str]:
        """The unpacked layer roots, top-most first (overlay ``lowerdir`` order)."""
        return [self._layer_root(d) for d in reversed(record.layers)]

    def image_config(self, record: ImageRecord) -> dict[str, Any]:
        """The runtime part of the image config, with Docker's field names."""
        doc = decode_json(self._read_blob(record.config_digest), what="image config")
        conf = doc.get("config") or {}
        return {
            "Entrypoint": conf.get("Entrypoint"),
            "Cmd": conf.get("Cmd"),
            "Env": list(conf.get("Env") or []),
            "WorkingDir": conf.get("WorkingDir") or "",
            "User": conf.get("User") or "",
            "ExposedPorts": dict(conf.get("ExposedPorts") or {}),
            "Labels": dict(conf.get("Labels") or {}),
            "StopSignal": conf.get("StopSignal") or "",
        }

    def disk_usage(self) -> int:
        """Bytes held: blobs plus unpacked layer content."""
        total = 0
        for name in os.listdir(self._blob_dir()):
            try:
                total += os.path.getsize(os.path.join(self._blob_dir(), name))
            except FileNotFoundError:  # a download finishing right now
                pass
        for hex_part in os.listdir(self._layers_dir()):
            total += self._layer_size(hex_part)
        return total

    # -- pull and import ------------------------------------------------------------------

    async def pull(
        self,
        ref: str,
        *,
        policy: str = PULL_IF_NOT_PRESENT,
        credentials: DockerConfig | Iterable[DockerConfig] | None = None,
        progress: Progress | None = None,
    ) -> ImageRecord:
        """Make ``ref`` present according to the pull policy and return its record.

        ``credentials`` are decoded ``.dockerconfigjson`` dicts (from imagePullSecrets).
        Concurrent pulls of the same reference share one download.
        """
        if policy not in PULL_POLICIES:
            raise ValueError(
                f"unknown pull policy {policy!r}; use one of {', '.join(PULL_POLICIES)}"
            )
        parsed = parse_reference(ref)
        key = str(parsed)
        present = self.get(key)
        if policy == PULL_NEVER:
            if present is None:
                raise ImageNeverPull(
                    f'Container image "{ref}" is not present with pull policy of Never'
                )
            return present
        if policy == PULL_IF_NOT_PRESENT and present is not None:
            return present
        task = self._pulls.get(key)
        if task is None:
            task = asyncio.create_task(self._pull(parsed, credentials, progress))
            self._pulls[key] = task
            task.add_done_callback(lambda t: self._pull_done(key, t))
        return await asyncio.shield(task)

    def _pull_done(self, key: str, task: asyncio.Task[ImageRecord]) -> None:
        self._pulls.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every waiter was cancelled

    async def import_archive(
        self, path: str, *, reference: str | None = None
    ) -> builtins.list[ImageRecord]:
        """Import an OCI image layout (directory or tar) or a docker-archive tar.

        Images are named by their ``io.containerd.image.name`` annotation, a full
        ``org.opencontainers.image.ref.name``, docker's RepoTags, or ``reference``.
        """
        with tempfile.TemporaryDirectory(dir=self._tmp_dir()) as scratch:
            root = (
                path if os.path.isdir(path) else await asyncio.to_thread(extract_tar, path, scratch)
            )
            images = await asyncio.to_thread(read_layout, root, reference=reference)
            return [await self._import_one(image) for image in images]

    async def _import_one(self, image: ArchiveImage) -> ImageRecord:
        async def fetch(desc: Descriptor, dest: str) -> None:
            source = image.blob_paths.get(desc.digest)
            if source is None:
                raise ImageCorrupt(f"{image.reference}: the archive has no blob {desc.digest}")
            await asyncio.to_thread(copy_verified, source, desc, dest)

        return await self._store_image(
            image.reference, image.digest, image.manifest, image.raws, fetch
        )

    async def _pull(
        self,
        ref: Reference,
        credentials: DockerConfig | Iterable[DockerConfig] | None,
        progress: Progress | None,
    ) -> ImageRecord:
        async with RegistryClient(self.registries, pull_secrets=credentials) as client:
            resolved: Resolved = await client.resolve(ref)

            async def fetch(desc: Descriptor, dest: str) -> None:
                async with self._downloads:
                    await client.fetch_blob(resolved, desc, dest, progress)

            return await self._store_image(
                str(ref), resolved.digest, resolved.manifest, resolved.raw, fetch
            )

    async def _store_image(
        self,
        reference: str,
        digest: str,
        manifest: Manifest,
        raws: dict[str, bytes],
        fetch: FetchBlob,
    ) -> ImageRecord:
        """Fetch the config and layers, unpack the layers, then record the image."""
        pins = [*raws, manifest.config.digest, *(d.digest for d in manifest.layers)]
        self._pinned.update(pins)
        try:
            for blob_digest, raw in raws.items():
                self._write_blob(blob_digest, raw)
            await self._ensure_blob(manifest.config, fetch)
            config = decode_json(self._read_blob(manifest.config.digest), what="image config")
            diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
            if len(diff_ids) != len(manifest.layers) or not all(map(is_digest, diff_ids)):
                raise ImageCorrupt(
                    f"{reference}: the config lists {len(diff_ids)} layer diff_ids, "
                    f"the manifest {len(manifest.layers)} layers"
                )
            self._pinned.update(diff_ids)
            try:
                await asyncio.gather(
                    *(
                        self._ensure_layer(desc, diff_id, fetch, reference)
                        for desc, diff_id in zip(manifest.layers, diff_ids, strict=True)
                    )
                )
            finally:
                self._pinned.subtract(diff_ids)
            record = ImageRecord(
                reference=reference,
                digest=digest,
                manifest_digest=list(raws)[-1],  # raws: the index (if any), then the manifest
                config_digest=manifest.config.digest,
                layers=list(diff_ids),
                layer_blobs=[d.digest for d in manifest.layers],
                size=manifest.config.size + sum(d.size for d in manifest.layers),
                created=time.time(),
            )
            self._records[reference] = record
            self._save_index()
            return record
        finally:
            self._pinned.subtract(pins)
            self._pinned += Counter()  # drop zero counts

    async def _ensure_blob(self, desc: Descriptor, fetch: FetchBlob) -> None:
        async with self._lock(f"blob {desc.digest}"):
            path = self._blob_path(desc.digest)
            if os.path.exists(path) and os.path.getsize(path) == desc.size:
                return
            await fetch(desc, path)

    async def _ensure_layer(
        self, desc: Descriptor, diff_id: str, fetch: FetchBlob, reference: str
    ) -> None:
        async with self._lock(f"layer {diff_id}"):  # a blob may share the digest
            if os.path.isdir(self._layer_root(diff_id)):
                return
            await self._ensure_blob(desc, fetch)
            await asyncio.to_thread(self._unpack, desc, diff_id, reference)

    def _unpack(self, desc: Descriptor, diff_id: str, reference: str) -> None:
        work = tempfile.mkdtemp(dir=self._tmp_dir(), prefix="layer-")
        try:
            root = os.path.join(work, "root")
            os.mkdir(root, 0o755)
            got, size = unpack_layer(
                self._blob_path(desc.digest), root, name=f"{reference} layer {desc.digest}"
            )
            if got != diff_id:
                raise ImageCorrupt(
                    f"{reference}: layer {desc.digest} unpacks to {got}, the config says {diff_id}"
                )
            with open(os.path.join(work, "size"), "w") as f:
                f.write(str(size))
            os.rename(work, self._layer_dir(diff_id))
        finally:
            if os.path.exists(work):
                shutil.rmtree(work)

    # -- removal and gc -------------------------------------------------------------------

    async def remove(self, ref: str) -> bool:
        """Forget the image(s) ``ref`` names and delete content no other image uses."""
        matches = self._matching(ref)
        for record in matches:
            del self._records[record.reference]
        if matches:
            self._save_index()
            await asyncio.to_thread(self._prune)
        return bool(matches)

    async def gc(
        self,
        *,
        in_use: set[str],
        max_bytes: int | None = None,
        high_bytes: int | None = None,
        low_bytes: int | None = None,
    ) -> GcResult:
        """Remove unused images, oldest first, as the kubelet's image GC does.

        ``max_bytes``: remove until usage is at most that. ``high_bytes``/``low_bytes``:
        when usage exceeds high, remove until it is at most low. Neither: remove every
        unused image. ``in_use`` holds references, repo digests or image IDs of containers.
        Content no image refers to is always deleted.
        """
        result = GcResult()
        before = self.disk_usage()
        await asyncio.to_thread(self._prune)
        usage = self.disk_usage()
        if max_bytes is not None:
            target = max_bytes if usage > max_bytes else None
        elif high_bytes is not None:
            low = low_bytes if low_bytes is not None else high_bytes
            target = low if usage > high_bytes else None
        else:
            target = 0
        if target is not None:
            used = self._in_use_keys(in_use)
            unused = [r for r in self._records.values() if not _is_used(r, used)]
            for record in sorted(unused, key=lambda r: r.created):
                if usage <= target:
                    break
                del self._records[record.reference]
                self._save_index()
                await asyncio.to_thread(self._prune)
                usage = self.disk_usage()
                result.removed.append(record.reference)
        result.freed_bytes = before - usage
        return result

    def _prune(self) -> None:
        """Delete blobs and layers that no record (and no pull in progress) refers to."""
        keep_blobs: set[str] = set()
        keep_layers: set[str] = set()
        for r in self._records.values():
            keep_blobs.update([r.digest, r.manifest_digest, r.config_digest, *r.layer_blobs])
            keep_layers.update(r.layers)
        pinned = {d for d, n in self._pinned.items() if n > 0}
        for hex_part in os.listdir(self._blob_dir()):
            digest = "sha256:" + hex_part
            if hex_part.startswith(".") or digest in keep_blobs or digest in pinned:
                continue
            os.unlink(os.path.join(self._blob_dir(), hex_part))
        for hex_part in os.listdir(self._layers_dir()):
            digest = "sha256:" + hex_part
            if digest not in keep_layers and digest not in pinned:
                shutil.rmtree(os.path.join(self._layers_dir(), hex_part))

    # -- records --------------------------------------------------------------------------

    def _matching(self, ref: str) -> builtins.list[ImageRecord]:
        if is_digest(ref):
            return [r for r in self._records.values() if ref in (r.config_digest, r.digest)]
        try:
            parsed = parse_reference(ref)
        except ValueError:
            return []
        if parsed.digest:
            return [
                r
                for r in self._records.values()
                if parse_reference(r.reference).name == parsed.name
                and parsed.digest in (r.digest, r.manifest_digest)
            ]
        record = self._records.get(str(parsed))
        return [record] if record else []

    def _in_use_keys(self, in_use: set[str]) -> set[str]:
        keys = set(in_use)
        for item in in_use:
            if not is_digest(item):
                try:
                    keys.add(str(parse_reference(item)))
                except ValueError:
                    pass
        return keys

    def _load_index(self) -> dict[str, ImageRecord]:
        try:
            with open(self._index_path) as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        return {d["reference"]: ImageRecord(**d) for d in data.get("images", [])}

    def _save_index(self) -> None:
        data = {"images": [asdict(r) for r in self.list()]}
        tmp = self._index_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._index_path)

    # -- paths and small helpers ----------------------------------------------------------

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def _blob_dir(self) -> str:
        return os.path.join(self.root, "blobs", "sha256")

    def _layers_dir(self) -> str:
        return os.path.join(self.root, "layers", "sha256")

    def _tmp_dir(self) -> str:
        return os.path.join(self.root, "tmp")

    def _blob_path(self, digest: str) -> str:
        return os.path.join(self._blob_dir(), digest.removeprefix("sha256:"))

    def _layer_dir(self, diff_id: str) -> str:
        return os.path.join(self._layers_dir(), diff_id.removeprefix("sha256:"))

    def _layer_root(self, diff_id: str) -> str:
        return os.path.join(self._layer_dir(diff_id), "root")

    def _layer_size(self, hex_part: str) -> int:
        try:
            with open(os.path.join(self._layers_dir(), hex_part, "size")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return 0

    def _read_blob(self, digest: str) -> bytes:
        with open(self._blob_path(digest), "rb") as f:
            return f.read()

    def _write_blob(self, digest: str, raw: bytes) -> None:
        path = self._blob_path(digest)
        if os.path.exists(path):
            return
        fd, tmp = tempfile.mkstemp(dir=self._blob_dir(), prefix=".write-")
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)


def _is_used(record: ImageRecord, used: set[str]) -> bool:
    names = {record.reference, record.config_digest, record.digest, record.repo_digest}
    return not names.isdisjoint(used)
