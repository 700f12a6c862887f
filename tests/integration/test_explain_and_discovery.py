"""Real kubectl 1.27, 1.30 and 1.33 against discovery and OpenAPI served by a tiny test server.

The server here is only glue around the pure functions under test (discovery,
openapi, protobuf decoding); it records what kubectl sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kubelite.api import openapi
from kubelite.api.protobuf import CONTENT_TYPE as PROTOBUF
from kubelite.api.protobuf import decode_k8s_protobuf
from kubelite.apiserver import discovery

pytestmark = pytest.mark.kubectl

BIN = Path("/usr/lib/google-cloud-sdk/bin")
VERSIONS = ["1.27", "1.30", "1.33"]


@dataclass
class Stub:
    url: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, accept
    created: list[dict[str, Any]] = field(default_factory=list)
    aggregated: bool = True  # serve apidiscovery.k8s.io when asked


def _json(obj: Any, content_type: str = "application/json", status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(obj).encode(), status=status, headers={"Content-Type": content_type})


def _not_found(path: str) -> web.Response:
    return _json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": f"{path} not found", "reason": "NotFound", "code": 404}, status=404)


def _app(stub: Stub) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        path, accept = request.path, request.headers.get("Accept", "")
        stub.requests.append((request.method, request.path_qs, accept))
        if path == "/version":
            return _json(discovery.version_info())
        if path in ("/api", "/apis"):
            found = discovery.aggregated(accept, core=path == "/api") if stub.aggregated else None
            if found:
                return _json(*found)
            return _json(discovery.api_versions(request.host) if path == "/api" else discovery.api_group_list())
        if path == "/openapi/v3":
            return _json(openapi.openapi_v3_index())
        if path.startswith("/openapi/v3/"):
            doc = openapi.openapi_v3_document(path.removeprefix("/openapi/v3/"))
            if doc is None:
                return _not_found(path)
            return web.Response(body=doc, headers={"Content-Type": "application/json"})
        if path == "/openapi/v2":
            if "protobuf" in accept:
                return web.Response(body=openapi.openapi_v2_protobuf(),
                                    headers={"Content-Type": openapi.PROTOBUF_CONTENT_TYPE})
            return web.Response(body=openapi.openapi_v2_json(), headers={"Content-Type": "application/json"})
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) == 2 or parts[0] == "apis" and len(parts) == 3:
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            listing = discovery.api_resource_list(group, version)
            return _json(listing) if listing else _not_found(path)
        if request.method == "POST":
            body = await request.read()
            obj = decode_k8s_protobuf(body) if request.content_type == PROTOBUF else json.loads(body)
            stub.created.append(obj)
            return _json({**obj, "metadata": {"namespace": "default", **obj.get("metadata", {})}}, status=201)
        return _not_found(path)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    stub = Stub("")
    runner = web.AppRunner(_app(stub))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        stub.url = f"http://{host}:{port}"
        yield stub
    finally:
        await runner.cleanup()


async def kubectl(stub: Stub, tmp_path: Path, version: str, *args: str) -> str:
    """Run one kubectl binary with a fresh kubeconfig and cache dir; return its stdout."""
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": stub.url}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "default"}}],
        "users": [{"name": "u", "user": {}}],
    }))
    proc = await asyncio.create_subprocess_exec(
        str(BIN / f"kubectl.{version}"), "--kubeconfig", str(config),
        "--cache-dir", str(tmp_path / f"cache-{version}"), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, f"kubectl {version} {args} failed: {err.decode()}"
    return out.decode()


@pytest.mark.parametrize("version", VERSIONS)
async def test_api_resources_lists_short_names_and_categories(stub: Stub, tmp_path: Path, version: str) -> None:
    out = await kubectl(stub, tmp_path, version, "api-resources", "-o", "wide")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["pods"][1] == "po" and rows["pods"][-1] == "all"
    assert rows["deployments"][1:3] == ["deploy", "apps/v1"]
    assert "storageclasses" in rows and "selfsubjectaccessreviews" in rows
    paths = [path.split("?")[0] for _, path, _ in stub.requests]
    assert "/api/v1" not in paths, "kubectl should have used aggregated discovery"


async def test_api_resources_from_legacy_discovery(stub: Stub, tmp_path: Path) -> None:
    stub.aggregated = False
    out = await kubectl(stub, tmp_path, "1.33", "api-resources")
    assert any(line.split()[:2] == ["pods", "po"] for line in out.splitlines())
    paths = {path.split("?")[0] for _, path, _ in stub.requests}
    assert {"/api/v1", "/apis/apps/v1", "/apis/policy/v1"} <= paths


@pytest.mark.parametrize("version", VERSIONS)
async def test_explain_prints_the_fields_of_a_nested_type(stub: Stub, tmp_path: Path, version: str) -> None:
    out = await kubectl(stub, tmp_path, version, "explain", "pod.spec.containers.livenessProbe")
    assert "FIELD: livenessProbe <Probe>" in out
    assert "Periodic probe of container liveness." in out
    assert "FIELDS:" in out
    assert "httpGet\t<HTTPGetAction>" in out
    assert "periodSeconds\t<integer>" in out
    assert "How often (in seconds) to perform the probe." in out
    assert any(path.startswith("/openapi/v3/api/v1?hash=") for _, path, _ in stub.requests)


@pytest.mark.parametrize("version", VERSIONS)
async def test_explain_recursive_walks_the_whole_deployment(stub: Stub, tmp_path: Path, version: str) -> None:
    out = await kubectl(stub, tmp_path, version, "explain", "deployment", "--recursive")
    assert "KIND:" in out and "Deployment" in out and "VERSION:" in out
    for line in ("replicas\t<integer>", "livenessProbe\t<Probe>", "maxSurge\t<IntOrString>",
                 "matchLabels\t<map[string]string>", "containers\t<[]Container> -required-",
                 "limits\t<map[string]Quantity>", "creationTimestamp\t<string>"):
        assert line in out, line
    assert len(out.splitlines()) > 500


async def test_explain_with_the_v2_protobuf_document_on_kubectl_1_27(stub: Stub, tmp_path: Path) -> None:
    out = await kubectl(stub, tmp_path, "1.27", "explain", "pods.spec.containers.ports",
                        "--output", "plaintext-openapiv2")
    assert "RESOURCE: ports <[]Object>" in out
    assert "containerPort\t<integer> -required-" in out


@pytest.mark.parametrize("version", ["1.27", "1.33"])
async def test_apply_asks_the_server_to_validate_fields(stub: Stub, tmp_path: Path, version: str) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                                    "spec": {"containers": [{"name": "app", "image": "nginx"}]}}))
    out = await kubectl(stub, tmp_path, version, "apply", "-f", str(manifest))
    assert "pod/web created" in out
    [post] = [path for method, path, _ in stub.requests if method == "POST"]
    assert "fieldValidation=Strict" in post
    assert stub.created[0]["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]


async def test_create_configmap_on_kubectl_1_33_sends_protobuf_we_decode(stub: Stub, tmp_path: Path) -> None:
    out = await kubectl(stub, tmp_path, "1.33", "create", "configmap", "cm1", "--from-literal", "a=b")
    assert "configmap/cm1 created" in out
    assert stub.created == [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1"},
                             "data": {"a": "b"}}]
