"""The real kubectl prints our Tables as it prints Kubernetes' (headers, wide, -A, --sort-by)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kubelite.api.registry import Kind, by_kind
from kubelite.api.tables import table

KUBECTL = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")
pytestmark = pytest.mark.kubectl


def must_kind(name: str) -> Kind:
    kind = by_kind("", "v1", name)
    assert kind is not None
    return kind


def ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def objects() -> dict[str, tuple[Kind, list[dict[str, Any]]]]:
    web_pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                     "creationTimestamp": ago(minutes=50)},
        "spec": {"nodeName": "node-1", "containers": [{"name": "a"}, {"name": "b"}]},
        "status": {"phase": "Running", "podIP": "10.244.0.5", "containerStatuses": [
            {"name": "a", "ready": True, "restartCount": 3, "state": {"running": {}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(minutes=30)}}},
            {"name": "b", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
        ]},
    }
    job_pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "job-x", "namespace": "default", "creationTimestamp": ago(hours=3)},
        "spec": {"containers": [{"name": "a"}]},
        "status": {"phase": "Succeeded", "containerStatuses": [
            {"name": "a", "ready": False, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]},
    }
    node = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-1", "creationTimestamp": ago(days=2, hours=3, minutes=1),
                     "labels": {"node-role.kubernetes.io/control-plane": ""}},
        "spec": {"unschedulable": True},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}],
                   "nodeInfo": {"kubeletVersion": "v1.32.0"}},
    }
    return {
        "/api/v1/namespaces/default/pods": (must_kind("Pod"), [web_pod, job_pod]),
        "/api/v1/pods": (must_kind("Pod"), [web_pod, job_pod]),
        "/api/v1/nodes": (must_kind("Node"), [node]),
    }


def _resource(name: str, kind: str, namespaced: bool) -> dict[str, Any]:
    return {"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
            "verbs": ["get", "list", "watch"]}


@pytest.fixture
async def server() -> AsyncIterator[str]:
    served = objects()

    async def api(_: web.Request) -> web.Response:
        return web.json_response({"kind": "APIVersions", "versions": ["v1"]})

    async def apis(_: web.Request) -> web.Response:
        return web.json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})

    async def api_v1(_: web.Request) -> web.Response:
        return web.json_response({"kind": "APIResourceList", "groupVersion": "v1", "resources": [
            _resource("pods", "Pod", True), _resource("nodes", "Node", False)]})

    async def listing(request: web.Request) -> web.Response:
        kind, objs = served[request.path]
        include = request.query.get("includeObject", "Metadata")
        return web.json_response(table(kind, objs, dt.datetime.now(dt.UTC), include, resource_version="5"))

    app = web.Application()
    app.router.add_get("/api", api)
    app.router.add_get("/apis", apis)
    app.router.add_get("/api/v1", api_v1)
    for path in served:
        app.router.add_get(path, listing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def kubectl(server: str, tmp_path: Path, *args: str) -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        str(KUBECTL), "--server", server, "--cache-dir", str(tmp_path / "cache"), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    return [" ".join(line.split()) for line in out.decode().splitlines()]


async def test_get_pods_default_wide_all_namespaces_and_sorted(server: str, tmp_path: Path) -> None:
    assert await kubectl(server, tmp_path, "get", "pods") == [
        "NAME READY STATUS RESTARTS AGE",
        "web 1/2 CrashLoopBackOff 3 (30m ago) 50m",
        "job-x 0/1 Completed 0 3h",
    ]
    assert await kubectl(server, tmp_path, "get", "pods", "-o", "wide") == [
        "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES",
        "web 1/2 CrashLoopBackOff 3 (30m ago) 50m 10.244.0.5 node-1 <none> <none>",
        "job-x 0/1 Completed 0 3h <none> <none> <none> <none>",
    ]
    assert await kubectl(server, tmp_path, "get", "pods", "-A", "--show-labels") == [
        "NAMESPACE NAME READY STATUS RESTARTS AGE LABELS",
        "default web 1/2 CrashLoopBackOff 3 (30m ago) 50m app=web",
        "default job-x 0/1 Completed 0 3h <none>",
    ]
    sorted_names = await kubectl(server, tmp_path, "get", "pods", "--sort-by=.metadata.name", "--no-headers")
    assert [line.split()[0] for line in sorted_names] == ["job-x", "web"]


async def test_get_nodes_wide(server: str, tmp_path: Path) -> None:
    assert await kubectl(server, tmp_path, "get", "nodes", "-o", "wide") == [
        "NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME",
        "node-1 Ready,SchedulingDisabled control-plane 2d3h v1.32.0 192.168.1.10 <none> <unknown> <unknown> <unknown>",
    ]
