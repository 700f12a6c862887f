"""ImageStore: pulls from a real docker-registry and from a fake one, import, remove, gc."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import stat
import tarfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from kubelite.runtime.images import (
    ImageCorrupt,
    ImageNeverPull,
    ImageNotFound,
    ImageStore,
    RegistriesConfig,
    RegistryUnavailable,
    Unauthorized,
    mount_rootfs,
    unmount,
)
from tests.helpers.registry import (
    INDEX_HTML,
    OciLayout,
    Registry,
    build_busybox_image,
    file_entry,
    make_layer,
    mirror_config,
    push_image,
    start_registry,
    whiteout_entry,
)

OTHER_FILES = {"/www/index.html": b"other image\n"}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, OciLayout]:
    base = tmp_path_factory.mktemp("layouts")
    return {
        "busybox": build_busybox_image(base / "busybox"),
        "other": build_busybox_image(base / "other", extra_files=OTHER_FILES, cmd=["httpd"]),
    }


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory, images: dict[str, OciLayout]
) -> Iterator[Registry]:
    with start_registry(tmp_path_factory.mktemp("registry")) as reg:
        push_image(images["busybox"], reg.url, "library/busybox", "latest")
        push_image(images["other"], reg.url, "library/other", "v1")
        yield reg


@pytest.fixture
def store(tmp_path: Path, registry: Registry) -> ImageStore:
    return ImageStore(
        str(tmp_path / "store"), registries=RegistriesConfig.from_dict(mirror_config(registry))
    )


# -- a real registry -------------------------------------------------------------------------


async def test_pull_through_docker_io_mirror(
    store: ImageStore, images: dict[str, OciLayout]
) -> None:
    layout = images["busybox"]
    seen: list[tuple[int, int, str]] = []
    record = await store.pull(
        "busybox:latest", progress=lambda d, t, layer: seen.append((d, t, layer))
    )
    assert record.reference == "docker.io/library/busybox:latest"
    assert record.digest == layout.manifest_digest
    assert record.config_digest == layout.config_digest == record.id
    assert record.layers == layout.diff_ids
    assert record.repo_digest == f"docker.io/library/busybox@{layout.manifest_digest}"
    layer_size = len(layout.blob(layout.layer_digests[0]))
    assert (layer_size, layer_size, layout.layer_digests[0]) in seen
    config = store.image_config(record)
    assert config["Cmd"] == ["sh"] and config["Entrypoint"] is None
    assert config["Env"][0].startswith("PATH=")
    (root,) = store.layer_dirs(record)
    rootfs = Path(root)
    assert (rootfs / "www/index.html").read_bytes() == INDEX_HTML
    assert os.readlink(rootfs / "bin/sh") == "busybox"
    assert stat.S_IMODE((rootfs / "tmp").stat().st_mode) == 0o1777
    assert (rootfs / "bin/busybox").stat().st_size == Path("/bin/busybox").stat().st_size
    assert store.get("busybox") == record and store.list() == [record]


async def test_pull_by_digest_and_lookup_by_id(
    store: ImageStore, images: dict[str, OciLayout]
) -> None:
    digest = images["other"].manifest_digest
    record = await store.pull(f"other@{digest}")
    assert record.reference == f"docker.io/library/other@{digest}"
    assert store.image_config(record)["Cmd"] == ["httpd"]
    assert store.get(images["other"].config_digest) == record
    assert store.get(f"docker.io/library/other@{digest}") == record


async def test_records_survive_a_new_store_on_the_same_root(
    store: ImageStore, registry: Registry
) -> None:
    record = await store.pull("busybox")
    again = ImageStore(store.root, registries=store.registries)
    assert again.get("busybox") == record


async def test_missing_image_is_image_not_found(store: ImageStore) -> None:
    with pytest.raises(ImageNotFound, match="busybox:nope: not found") as info:
        await store.pull("busybox:nope")
    assert info.value.reason == "ErrImagePull"
    assert "check the image name" in str(info.value)
    assert store.list() == []


async def test_unreachable_registry_is_registry_unavailable(tmp_path: Path) -> None:
    store = ImageStore(str(tmp_path / "store"))
    with pytest.raises(RegistryUnavailable, match="127.0.0.1:9"):
        await store.pull("127.0.0.1:9/library/busybox:latest")


async def test_pull_policies(store: ImageStore) -> None:
    with pytest.raises(
        ImageNeverPull, match='"busybox" is not present with pull policy of Never'
    ) as info:
        await store.pull("busybox", policy="Never")
    assert info.value.reason == "ErrImageNeverPull"
    record = await store.pull("busybox", policy="IfNotPresent")
    assert await store.pull("busybox", policy="Never") == record
    assert await store.pull("busybox", policy="IfNotPresent") is record
    again = await store.pull("busybox", policy="Always")
    assert again.digest == record.digest and again is not record
    with pytest.raises(ValueError, match="pull policy"):
        await store.pull("busybox", policy="Sometimes")


async def test_pull_by_registry_host_directly(tmp_path: Path, registry: Registry) -> None:
    store = ImageStore(str(tmp_path / "store"))
    record = await store.pull(f"{registry.url}/library/other:v1")
    assert record.reference == f"{registry.url}/library/other:v1"


# -- a fake registry: corruption, auth, indexes, concurrency ---------------------------------


class FakeRegistry:
    """A tiny registry serving one repository, with knobs to misbehave."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, tuple[bytes, str]] = {}  # tag or digest -> (bytes, type)
        self.requests: Counter[str] = Counter()
        self.credentials: tuple[str, str] | None = None
        self.blob_delay = 0.0
        self.url = ""

    def serve(self, layout: OciLayout, tag: str = "latest") -> None:
        for name in os.listdir(os.path.join(layout.path, "blobs", "sha256")):
            self.blobs["sha256:" + name] = layout.blob("sha256:" + name)
        manifest = self.blobs[layout.manifest_digest]
        content_type = "application/vnd.oci.image.manifest.v1+json"
        self.manifests[tag] = self.manifests[layout.manifest_digest] = (manifest, content_type)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["tail"]
        self.requests[path] += 1
        if self.credentials and request.headers.get("Authorization") != "Bearer good-token":
            realm = f"http://{self.url}/token"
            return web.Response(
                status=401,
                headers={
                    "WWW-Authenticate": f'Bearer realm="{realm}",service="fake",scope="repository:x:pull"'
                },
            )
        if "/manifests/" in path:
            found = self.manifests.get(path.rsplit("/", 1)[1])
            if found is None:
                return web.json_response({"errors": [{"code": "MANIFEST_UNKNOWN"}]}, status=404)
            return web.Response(body=found[0], headers={"Content-Type": found[1]})
        if "/blobs/" in path:
            await asyncio.sleep(self.blob_delay)
            blob = self.blobs.get(path.rsplit("/", 1)[1])
            if blob is None:
                return web.json_response({"errors": [{"code": "BLOB_UNKNOWN"}]}, status=404)
            return web.Response(body=blob, content_type="application/octet-stream")
        return web.json_response({})

    async def token(self, request: web.Request) -> web.Response:
        assert self.credentials is not None
        user, password = self.credentials
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if (
            request.headers.get("Authorization") != expected
            or request.query.get("service") != "fake"
        ):
            return web.json_response({"details": "incorrect username or password"}, status=401)
        return web.json_response({"token": "good-token"})


@pytest.fixture
async def fake() -> AsyncIterator[FakeRegistry]:
    registry = FakeRegistry()
    app = web.Application()
    app.router.add_get("/token", registry.token)
    app.router.add_get("/v2/{tail:.*}", registry.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    registry.url = f"{host}:{port}"
    try:
        yield registry
    finally:
        await runner.cleanup()


async def test_corrupted_blob_is_refused(
    tmp_path: Path, fake: FakeRegistry, images: dict[str, OciLayout]
) -> None:
    layout = images["busybox"]
    fake.serve(layout)
    layer = layout.layer_digests[0]
    good = fake.blobs[layer]
    fake.blobs[layer] = good[:100] + bytes([good[100] ^ 0xFF]) + good[101:]
    store = ImageStore(str(tmp_path / "store"))
    with pytest.raises(ImageCorrupt, match="refusing corrupted content"):
        await store.pull(f"{fake.url}/library/busybox")
    assert store.list() == []
    assert not os.path.exists(
        os.path.join(store.root, "blobs/sha256", layer.removeprefix("sha256:"))
    )
    assert os.listdir(os.path.join(store.root, "layers/sha256")) == []
    fake.blobs[layer] = good[:-10]  # truncated
    with pytest.raises(ImageCorrupt, match="bytes"):
        await store.pull(f"{fake.url}/library/busybox")


async def test_wrong_diff_id_is_refused(tmp_path: Path, fake: FakeRegistry) -> None:
    layout = build_busybox_image(
        tmp_path / "img", extra_layers=[make_layer([file_entry("x", b"1")])]
    )
    config = json.loads(layout.blob(layout.config_digest))
    config["rootfs"]["diff_ids"][1] = "sha256:" + "0" * 64
    raw_config = json.dumps(config).encode()
    manifest = json.loads(layout.blob(layout.manifest_digest))
    manifest["config"].update(
        digest="sha256:" + hashlib.sha256(raw_config).hexdigest(), size=len(raw_config)
    )
    fake.serve(layout)
    fake.blobs[manifest["config"]["digest"]] = raw_config
    fake.manifests["latest"] = (
        json.dumps(manifest).encode(),
        "application/vnd.oci.image.manifest.v1+json",
    )
    store = ImageStore(str(tmp_path / "store"))
    with pytest.raises(ImageCorrupt, match="the config says sha256:0000"):
        await store.pull(f"{fake.url}/x/y")


async def test_two_concurrent_pulls_download_once(
    tmp_path: Path, fake: FakeRegistry, images: dict[str, OciLayout]
) -> None:
    layout = images["busybox"]
    fake.serve(layout)
    fake.blob_delay = 0.05
    store = ImageStore(str(tmp_path / "store"))
    a, b = await asyncio.gather(
        store.pull(f"{fake.url}/library/busybox"), store.pull(f"{fake.url}/library/busybox")
    )
    assert a == b
    blob_gets = {p: n for p, n in fake.requests.items() if "/blobs/" in p}
    assert sorted(blob_gets.values()) == [1, 1]  # the config and the layer, once each
    assert fake.requests["library/busybox/manifests/latest"] == 1


async def test_index_picks_linux_amd64(
    tmp_path: Path, fake: FakeRegistry, images: dict[str, OciLayout]
) -> None:
    layout = images["other"]
    fake.serve(layout)
    manifest = fake.blobs[layout.manifest_digest]
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(manifest)}
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    **entry,
                    "digest": "sha256:" + "1" * 64,
                    "platform": {"os": "linux", "architecture": "arm64"},
                },
                {
                    **entry,
                    "digest": layout.manifest_digest,
                    "platform": {"os": "linux", "architecture": "amd64"},
                },
            ],
        }
    ).encode()
    fake.manifests["multi"] = (index, "application/vnd.oci.image.index.v1+json")
    store = ImageStore(str(tmp_path / "store"))
    record = await store.pull(f"{fake.url}/library/other:multi")
    assert record.digest == "sha256:" + hashlib.sha256(index).hexdigest()
    assert record.manifest_digest == layout.manifest_digest
    assert store.image_config(record)["Cmd"] == ["httpd"]


async def test_bearer_token_auth_with_a_pull_secret(
    tmp_path: Path, fake: FakeRegistry, images: dict[str, OciLayout]
) -> None:
    fake.serve(images["busybox"])
    fake.credentials = ("alice", "s3cret")
    store = ImageStore(str(tmp_path / "store"))
    ref = f"{fake.url}/library/busybox"
    with pytest.raises(Unauthorized, match="imagePullSecret"):
        await store.pull(ref)
    wrong = {"auths": {fake.url: {"username": "alice", "password": "nope"}}}
    with pytest.raises(Unauthorized):
        await store.pull(ref, credentials=wrong)
    secret = {"auths": {fake.url: {"auth": base64.b64encode(b"alice:s3cret").decode()}}}
    record = await store.pull(ref, credentials=[secret])
    assert record.layers == images["busybox"].diff_ids


async def test_bearer_token_auth_from_registries_yaml(
    tmp_path: Path, fake: FakeRegistry, images: dict[str, OciLayout]
) -> None:
    fake.serve(images["busybox"])
    fake.credentials = ("bob", "pw")
    config = RegistriesConfig.from_dict(
        {
            "mirrors": {"docker.io": {"endpoint": [f"http://{fake.url}"]}},
            "configs": {fake.url: {"auth": {"username": "bob", "password": "pw"}}},
        }
    )
    store = ImageStore(str(tmp_path / "store"), registries=config)
    record = await store.pull("busybox")
    assert record.reference == "docker.io/library/busybox:latest"


# -- import, whiteouts through the store, remove and gc --------------------------------------


async def test_import_oci_layout_directory_and_tar(
    tmp_path: Path, images: dict[str, OciLayout]
) -> None:
    store = ImageStore(str(tmp_path / "store"))
    layout = images["busybox"]
    (record,) = await store.import_archive(layout.path, reference="busybox:imported")
    assert record.reference == "docker.io/library/busybox:imported"
    assert record.layers == layout.diff_ids
    tar_path = tmp_path / "other.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(images["other"].path, arcname=".")
    (other,) = await store.import_archive(str(tar_path), reference="registry.local/other:v1")
    assert store.get("registry.local/other:v1") == other
    assert store.image_config(other)["Cmd"] == ["httpd"]
    with pytest.raises(ValueError, match="has no name"):
        await store.import_archive(layout.path)  # ref.name "latest" names no repository
    assert os.listdir(os.path.join(store.root, "tmp")) == []


async def test_import_docker_archive(tmp_path: Path) -> None:
    layer = make_layer([file_entry("hello.txt", b"hi")], compress=False)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "config": {"Cmd": ["cat", "/hello.txt"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    )
    archive = tmp_path / "docker"
    (archive / "abc").mkdir(parents=True)
    (archive / "abc/layer.tar").write_bytes(layer)
    (archive / "config.json").write_text(config)
    (archive / "manifest.json").write_text(
        json.dumps(
            [{"Config": "config.json", "RepoTags": ["hello:v1"], "Layers": ["abc/layer.tar"]}]
        )
    )
    store = ImageStore(str(tmp_path / "store"))
    (record,) = await store.import_archive(str(archive))
    assert record.reference == "docker.io/library/hello:v1"
    assert (Path(store.layer_dirs(record)[0]) / "hello.txt").read_bytes() == b"hi"


async def test_layers_are_shared_and_whiteouts_kept_for_overlay(tmp_path: Path) -> None:
    top = make_layer([whiteout_entry("www/index.html")])
    base = build_busybox_image(tmp_path / "a")
    derived = build_busybox_image(tmp_path / "b", extra_layers=[top])
    store = ImageStore(str(tmp_path / "store"))
    (a,) = await store.import_archive(base.path, reference="base:1")
    (b,) = await store.import_archive(derived.path, reference="derived:1")
    assert store.layer_dirs(b)[1] == store.layer_dirs(a)[0]  # the busybox layer, unpacked once
    assert len(os.listdir(os.path.join(store.root, "layers/sha256"))) == 2
    whiteout = os.lstat(Path(store.layer_dirs(b)[0]) / "www/index.html")
    assert stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0
    merged = tmp_path / "merged"
    mount_rootfs(store.layer_dirs(b), str(tmp_path / "upper"), str(tmp_path / "work"), str(merged))
    try:
        assert not (merged / "www/index.html").exists()
        assert os.readlink(merged / "bin/sh") == "busybox"
    finally:
        unmount(str(merged))


async def test_remove_deletes_unshared_content(store: ImageStore) -> None:
    busybox = await store.pull("busybox")
    other = await store.pull("other:v1")
    assert await store.remove("other:v1") is True
    assert await store.remove("other:v1") is False
    assert store.list() == [busybox]
    assert not os.path.exists(os.path.dirname(store._layer_root(other.layers[0])))
    assert os.path.isdir(store.layer_dirs(busybox)[0])


async def test_gc_removes_unused_images_and_frees_space(store: ImageStore) -> None:
    busybox = await store.pull("busybox")
    other = await store.pull("other:v1")
    before = store.disk_usage()
    result = await store.gc(in_use={"busybox"})
    assert result.removed == [other.reference]
    assert result.freed_bytes > 1_000_000 and store.disk_usage() == before - result.freed_bytes
    assert store.list() == [busybox]
    assert os.path.isdir(store.layer_dirs(busybox)[0])
    assert (await store.gc(in_use={busybox.id})).removed == []  # in use by image ID too


async def test_gc_to_a_byte_limit_removes_oldest_first(store: ImageStore) -> None:
    await store.pull("busybox")
    newer = await store.pull("other:v1")
    usage = store.disk_usage()
    assert (await store.gc(in_use=set(), max_bytes=usage)).removed == []
    result = await store.gc(in_use=set(), max_bytes=usage - 1)
    assert result.removed == ["docker.io/library/busybox:latest"]
    assert store.list() == [newer]
    assert (await store.gc(in_use=set(), high_bytes=usage, low_bytes=0)).removed == []
    assert (await store.gc(in_use=set(), high_bytes=1, low_bytes=0)).removed == [newer.reference]
    assert store.disk_usage() == 0
