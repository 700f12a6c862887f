"""Endpoints, EndpointSlices and cluster DNS follow pod readiness on a real server with simulated nodes.

The controllers and the DNS server run in the test process as clients of a real `kubelite
server`; pods run on simulated nodes; the test flips their Ready condition itself, as a
kubelet's readiness probe would.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from kubelite.client import ApiClient
from kubelite.controllers.endpoints import EndpointsController
from kubelite.controllers.endpointslices import EndpointSliceController
from kubelite.dns import ClusterDns, wire
from kubelite.sim import SimCluster
from tests.helpers.cluster import Server, start_server
from tests.helpers.sim import running_sim
from tests.helpers.wait import eventually


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("services") / "data", "--service-cidr", "10.96.0.0/12")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def cluster(client: ApiClient) -> AsyncIterator[SimCluster]:
    async with running_sim(client, 2, prefix="svc-") as sim:
        yield sim


@pytest.fixture
async def controllers(client: ApiClient) -> AsyncIterator[None]:
    running = [EndpointsController(client), EndpointSliceController(client)]
    for c in running:
        await c.start()
    try:
        yield None
    finally:
        for c in running:
            await c.stop()


@pytest.fixture
async def dns(client: ApiClient) -> AsyncIterator[ClusterDns]:
    server = ClusterDns(client, "127.0.0.1", 0, upstreams=[])
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def set_ready(client: ApiClient, name: str, ready: bool) -> None:
    flag = "True" if ready else "False"
    patch = {"status": {"conditions": [{"type": "Ready", "status": flag},
                                       {"type": "ContainersReady", "status": flag}]}}
    await client.patch("pods", name, "default", patch, patch_type="strategic", subresource="status")


async def addresses(client: ApiClient, name: str) -> tuple[list[str], list[str]]:
    try:
        ep = await client.get("endpoints", name, "default", raw=True)
    except Exception:
        return [], []
    subsets = ep.get("subsets") or []
    ready = sorted(a["ip"] for s in subsets for a in s.get("addresses") or [])
    not_ready = sorted(a["ip"] for s in subsets for a in s.get("notReadyAddresses") or [])
    return ready, not_ready


async def slice_conditions(client: ApiClient, name: str) -> dict[str, bool]:
    slices = (await client.list("endpointslices", "default", label_selector=f"kubernetes.io/service-name={name}",
                                raw=True)).items
    return {e["addresses"][0]: e["conditions"]["ready"] for es in slices for e in es.get("endpoints") or []}


def ask(port: int, name: str) -> wire.Message:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(wire.query(name), ("127.0.0.1", port))
        return wire.decode_message(s.recv(4096))


def a_records(reply: wire.Message) -> list[str]:
    return sorted(wire.read_a(r.data) for r in reply.answers if r.type == wire.A)


async def test_endpoints_slices_and_dns_follow_readiness(
        server: Server, client: ApiClient, cluster: SimCluster, controllers: None, dns: ClusterDns) -> None:
    cluster_ip = f"10.96.{random.randint(1, 250)}.{random.randint(2, 250)}"
    await client.create("services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"clusterIP": cluster_ip, "selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}, "default", raw=True)
    await client.create("services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-headless"},
        "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}},
        "default", raw=True)
    names = ["web-1", "web-2", "web-3"]
    for i, name in enumerate(names):
        await client.create("pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"nodeName": cluster.node_names[i % 2], "containers": [
                {"name": "app", "image": "nginx", "ports": [{"name": "http", "containerPort": 8080}]}]}},
            "default", raw=True)

    async def all_running() -> bool:
        ready, _ = await addresses(client, "web")
        return len(ready) == 3

    await eventually(all_running, timeout=10.0)
    ips = {p["metadata"]["name"]: p["status"]["podIP"]
           for p in (await client.list("pods", "default", raw=True)).items if p["metadata"]["name"] in names}
    ep = await client.get("endpoints", "web", "default", raw=True)
    subset = ep["subsets"][0]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert {a["targetRef"]["name"] for a in subset["addresses"]} == set(names)
    assert {a["nodeName"] for a in subset["addresses"]} == set(cluster.node_names)
    out = server.kubectl("get", "endpoints", "web", "--no-headers").stdout
    assert all(f"{ip}:8080" in out for ip in ips.values()), out

    reply = await asyncio.to_thread(ask, dns.port, "web.default.svc.cluster.local")
    assert a_records(reply) == [cluster_ip]

    await set_ready(client, "web-2", False)

    async def web2_not_ready() -> bool:
        ready, not_ready = await addresses(client, "web")
        return not_ready == [ips["web-2"]] and ips["web-2"] not in ready

    start = time.monotonic()
    await eventually(web2_not_ready, timeout=10.0)
    assert time.monotonic() - start < 1.0  # within a second of the Ready change

    async def slice_says_not_ready() -> bool:
        return (await slice_conditions(client, "web")).get(ips["web-2"]) is False

    await eventually(slice_says_not_ready, timeout=1.0)

    async def headless_without_web2() -> bool:
        reply = await asyncio.to_thread(ask, dns.port, "web-headless.default.svc.cluster.local")
        return a_records(reply) == sorted([ips["web-1"], ips["web-3"]])

    await eventually(headless_without_web2, timeout=2.0)

    await set_ready(client, "web-2", True)

    async def web2_back() -> bool:
        ready, not_ready = await addresses(client, "web")
        return ips["web-2"] in ready and not not_ready

    await eventually(web2_back, timeout=1.0)

    await client.delete("pods", "web-3", "default")

    async def web3_gone() -> bool:
        ready, not_ready = await addresses(client, "web")
        return ips["web-3"] not in ready + not_ready and ips["web-3"] not in await slice_conditions(client, "web")

    await eventually(web3_gone, timeout=10.0)
    await client.delete("services", "web", "default")

    async def endpoints_gone() -> bool:
        return await addresses(client, "web") == ([], []) and not await slice_conditions(client, "web")

    await eventually(endpoints_gone, timeout=10.0)
    reply = await asyncio.to_thread(ask, dns.port, "web.default.svc.cluster.local")
    assert reply.rcode == wire.NXDOMAIN
