"""Test registries and test images, built in pure Python from Debian's busybox-static.

    with start_registry(tmp_path) as reg:                 # Debian's docker-registry
        layout = build_busybox_image(tmp_path / "img", extra_files={"/www/x": b"hi"})
        push_image(layout, reg.url, "library/busybox", "latest")
        # then pull "busybox:latest" with registries.yaml {"mirrors": {"docker.io":
        #   {"endpoint": [f"http://{reg.url}"]}}}, or "127.0.0.1:PORT/library/busybox:latest"

Images are deterministic (fixed mtimes, owners and gzip headers), so building the same
image twice gives the same digests; the busybox layer is built once per process.
Lower-level pieces (``make_layer``, ``file_entry``... and ``write_oci_layout``) build any
other image, e.g. several layers with whiteouts.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_BINARY = "/usr/bin/docker-registry"
BUSYBOX_BINARY = "/bin/busybox"
FIXED_MTIME = 1704067200  # 2024-01-01T00:00:00Z
FIXED_CREATED = "2024-01-01T00:00:00Z"
DEFAULT_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
INDEX_HTML = b"hello from kubelite busybox\n"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

PathLike = str | os.PathLike[str]


# -- the registry ---------------------------------------------------------------------------


@dataclass
class Registry:
    """A running ``docker-registry``: no auth, plain HTTP on loopback."""

    url: str  # "127.0.0.1:PORT", as used in image references
    process: subprocess.Popen[bytes]
    root: str  # its storage and log

    @property
    def http_url(self) -> str:
        return f"http://{self.url}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_registry(tmp_dir: PathLike, *, timeout: float = 10.0, host: str = "127.0.0.1") -> Registry:
    """Start ``docker-registry`` storing under ``tmp_dir`` and wait until ``/v2/`` answers.
    ``host`` is the address it listens on (a test LAN's, for machines in namespaces)."""
    root = Path(tmp_dir) / f"registry-{os.getpid()}-{time.monotonic_ns()}"
    root.mkdir(parents=True)
    port = _free_port()
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: error, accesslog: {disabled: true}}\n"
        f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: {host}:{port}}}\n"
    )
    log = open(root / "registry.log", "wb")
    process = subprocess.Popen(
        [REGISTRY_BINARY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    registry = Registry(f"{host}:{port}", process, str(root))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {(root / 'registry.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{registry.http_url}/v2/", timeout=1) as resp:
                if resp.status == 200:
                    return registry
        except OSError:
            time.sleep(0.02)
    registry.stop()
    raise RuntimeError(f"docker-registry did not answer on {registry.url} within {timeout}s")


@contextmanager
def running_registry(tmp_dir: PathLike) -> Iterator[Registry]:
    """``with running_registry(tmp_path) as reg:`` — stopped on exit, even on failure."""
    registry = start_registry(tmp_dir)
    try:
        yield registry
    finally:
        registry.stop()


def mirror_config(registry: Registry, domain: str = "docker.io") -> dict[str, object]:
    """A registries.yaml dict sending pulls of ``domain`` to ``registry``."""
    return {"mirrors": {domain: {"endpoint": [registry.http_url]}}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- layers ---------------------------------------------------------------------------------

Entry = tuple[tarfile.TarInfo, bytes | None]


def _info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def file_entry(name: str, data: bytes, mode: int = 0o644) -> Entry:
    return _info(name, tarfile.REGTYPE, mode), data


def dir_entry(name: str, mode: int = 0o755) -> Entry:
    return _info(name, tarfile.DIRTYPE, mode), None


def symlink_entry(name: str, target: str) -> Entry:
    info = _info(name, tarfile.SYMTYPE, 0o777)
    info.linkname = target
    return info, None


def hardlink_entry(name: str, target: str) -> Entry:
    info = _info(name, tarfile.LNKTYPE, 0o644)
    info.linkname = target
    return info, None


def whiteout_entry(name: str) -> Entry:
    """Delete ``name`` (``dir/file``) from the layers below."""
    parent, _, base = name.rpartition("/")
    return file_entry(f"{parent}/.wh.{base}" if parent else f".wh.{base}", b"", 0o600)


def opaque_entry(directory: str) -> Entry:
    """Hide everything the layers below have in ``directory``."""
    return file_entry(f"{directory}/.wh..wh..opq", b"", 0o600)


def make_layer(entries: Iterable[Entry], *, compress: bool = True) -> bytes:
    """A layer tar (gzip'd unless ``compress=False``) with the entries in the given order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    raw = buf.getvalue()
    return gzip.compress(raw, compresslevel=6, mtime=0) if compress else raw


# -- OCI layouts ----------------------------------------------------------------------------


@dataclass
class OciLayout:
    """An OCI image layout on disk holding one image."""

    path: str
    manifest_digest: str
    config_digest: str
    layer_digests: list[str]
    diff_ids: list[str]
    ref_name: str
    config: dict[str, object] = field(repr=False)

    def blob_path(self, digest: str) -> str:
        return os.path.join(self.path, "blobs", "sha256", digest.removeprefix("sha256:"))

    def blob(self, digest: str) -> bytes:
        return Path(self.blob_path(digest)).read_bytes()


def write_oci_layout(
    out_dir: PathLike,
    layers: list[bytes],
    *,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    env: list[str] | None = None,
    working_dir: str = "/",
    ref_name: str = "latest",
    extra_config: dict[str, object] | None = None,
) -> OciLayout:
    """Write an OCI image layout with these layer blobs (gzip or plain tars), bottom first;
    `extra_config` adds image config fields (User, StopSignal, ExposedPorts, Labels)."""
    out = Path(out_dir)
    (out / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        (out / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
        return digest

    layer_digests = [put(layer) for layer in layers]
    diff_ids = ["sha256:" + hashlib.sha256(_decompress(layer)).hexdigest() for layer in layers]
    runtime: dict[str, object] = {"Env": env if env is not None else DEFAULT_ENV}
    if entrypoint is not None:
        runtime["Entrypoint"] = entrypoint
    if cmd is not None:
        runtime["Cmd"] = cmd
    runtime["WorkingDir"] = working_dir
    runtime.update(extra_config or {})
    config: dict[str, object] = {
        "created": FIXED_CREATED,
        "architecture": "amd64",
        "os": "linux",
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": FIXED_CREATED, "created_by": "kubelite tests"} for _ in layers],
    }
    config_bytes = _canonical(config)
    config_digest = put(config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": [
            {
                "mediaType": OCI_LAYER_GZIP if _is_gzip(layer) else OCI_LAYER,
                "digest": digest,
                "size": len(layer),
            }
            for layer, digest in zip(layers, layer_digests, strict=True)
        ],
    }
    manifest_bytes = _canonical(manifest)
    manifest_digest = put(manifest_bytes)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": ref_name},
            }
        ],
    }
    (out / "index.json").write_bytes(_canonical(index))
    (out / "oci-layout").write_bytes(b'{"imageLayoutVersion":"1.0.0"}')
    return OciLayout(
        str(out), manifest_digest, config_digest, layer_digests, diff_ids, ref_name, config
    )


def read_oci_layout(path: PathLike) -> OciLayout:
    """The one image of a layout `write_oci_layout` wrote."""
    out = Path(path)
    [entry] = json.loads((out / "index.json").read_bytes())["manifests"]

    def blob(digest: str) -> bytes:
        return (out / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()

    manifest = json.loads(blob(entry["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    return OciLayout(str(out), entry["digest"], manifest["config"]["digest"],
                     [layer["digest"] for layer in manifest["layers"]],
                     list(config["rootfs"]["diff_ids"]),
                     entry["annotations"]["org.opencontainers.image.ref.name"], config)


_busybox_layers: dict[tuple[tuple[str, bytes], ...], bytes] = {}


def busybox_layer(extra_files: dict[str, bytes] | None = None) -> bytes:
    """The gzip'd busybox root filesystem layer (cached per ``extra_files``)."""
    key = tuple(sorted((extra_files or {}).items()))
    if key not in _busybox_layers:
        _busybox_layers[key] = make_layer(_busybox_entries(dict(key)))
    return _busybox_layers[key]


def build_busybox_image(
    out_dir: PathLike,
    *,
    extra_files: dict[str, bytes] | None = None,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    env: list[str] | None = None,
    extra_layers: list[bytes] | None = None,
    ref_name: str = "latest",
) -> OciLayout:
    """An OCI layout of a busybox image: one layer (plus ``extra_layers`` on top).

    The layer has /bin/busybox and its applet symlinks, /etc/passwd, /etc/group, /tmp,
    /www/index.html and ``extra_files`` (path -> content). ``cmd`` defaults to ``["sh"]``.
    """
    layers = [busybox_layer(extra_files), *(extra_layers or [])]
    return write_oci_layout(
        out_dir,
        layers,
        entrypoint=entrypoint,
        cmd=cmd if cmd is not None else ["sh"],
        env=env,
        ref_name=ref_name,
    )


def _busybox_entries(extra_files: dict[str, bytes]) -> list[Entry]:
    busybox = Path(BUSYBOX_BINARY).read_bytes()
    applets = subprocess.run(
        [BUSYBOX_BINARY, "--list"], check=True, capture_output=True, text=True
    ).stdout.split()
    files: dict[str, tuple[bytes, int]] = {
        "etc/passwd": (
            b"root:x:0:0:root:/root:/bin/sh\n"
            b"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
            b"www-data:x:33:33:www-data:/var/www:/bin/false\n"
            b"nobody:x:65534:65534:nobody:/home:/bin/false\n",
            0o644,
        ),
        "etc/group": (
            b"root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nnobody:x:65534:\n",
            0o644,
        ),
        "www/index.html": (INDEX_HTML, 0o644),
    }
    for name, data in extra_files.items():
        files[name.lstrip("/")] = (data, 0o644)
    dirs = {"bin", "dev", "etc", "proc", "root", "sys", "tmp", "usr", "var", "www"}
    for name in files:
        parts = name.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    modes = {"tmp": 0o1777, "root": 0o700}
    entries = [dir_entry(d, modes.get(d, 0o755)) for d in sorted(dirs)]
    entries.append(file_entry("bin/busybox", busybox, 0o755))
    entries += [symlink_entry(f"bin/{a}", "busybox") for a in sorted(set(applets) - {"busybox"})]
    entries += [file_entry(name, data, mode) for name, (data, mode) in sorted(files.items())]
    return entries


def _decompress(layer: bytes) -> bytes:
    return gzip.decompress(layer) if _is_gzip(layer) else layer


def _is_gzip(data: bytes) -> bool:
    return data[:2] == b"\x1f\x8b"


def _canonical(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


# -- push -----------------------------------------------------------------------------------


def push_image(layout: OciLayout, registry_url: str, repo: str, tag: str) -> str:
    """Push the layout's image to ``registry_url`` as ``repo:tag``; return the manifest digest."""
    base = registry_url if "://" in registry_url else f"http://{registry_url}"
    for digest in [layout.config_digest, *layout.layer_digests]:
        if _request("HEAD", f"{base}/v2/{repo}/blobs/{digest}", ok=(200, 404)) == 200:
            continue
        upload = _request_location("POST", f"{base}/v2/{repo}/blobs/uploads/")
        url = urllib.parse.urljoin(f"{base}/", upload)
        sep = "&" if "?" in url else "?"
        _request(
            "PUT",
            f"{url}{sep}digest={urllib.parse.quote(digest)}",
            body=layout.blob(digest),
            content_type="application/octet-stream",
            ok=(201,),
        )
    _request(
        "PUT",
        f"{base}/v2/{repo}/manifests/{tag}",
        body=layout.blob(layout.manifest_digest),
        content_type=OCI_MANIFEST,
        ok=(201,),
    )
    return layout.manifest_digest


def _request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    content_type: str | None = None,
    ok: tuple[int, ...] = (200,),
) -> int:
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status = int(resp.status)
    except urllib.error.HTTPError as e:
        status = e.code
        if status not in ok:
            raise RuntimeError(f"{method} {url}: {status} {e.read()[:500]!r}") from e
    if status not in ok:
        raise RuntimeError(f"{method} {url}: unexpected {status}")
    return status


def _request_location(method: str, url: str) -> str:
    req = urllib.request.Request(url, data=b"", method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status != 202:
            raise RuntimeError(f"{method} {url}: {resp.status}, expected 202")
        return str(resp.headers["Location"])
