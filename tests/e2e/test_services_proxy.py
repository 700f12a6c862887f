"""A ClusterIP balances across ready pods only: real nftables, network namespaces, a real server.

The test builds its own little node: a bridge with a unique name and subnet, one network
namespace per "pod" (veth into the bridge, a python HTTP server answering its own name), and
Pods in a real kubelite server whose status it patches itself. The EndpointSlice controller
and the service proxy run here, against that server. Every namespace, link and nft table is
removed even when the test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from kubelite.client import ApiClient
from kubelite.controllers.endpointslices import EndpointSliceController
from kubelite.proxy import ServiceProxy
from tests.helpers.wait import eventually

pytestmark = pytest.mark.root

HTTP_SERVER = """
import http.server, sys
name = sys.argv[1].encode()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(name)))
        self.end_headers()
        self.wfile.write(name)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""

CLIENT = """
import collections, json, sys, urllib.request
counts = collections.Counter()
for _ in range(int(sys.argv[2])):
    try:
        counts[urllib.request.urlopen(sys.argv[1], timeout=2).read().decode()] += 1
    except Exception as e:
        counts["error: " + type(e).__name__] += 1
print(json.dumps(counts))
"""


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def used_subnets() -> str:
    return subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout


@dataclass
class Node:
    """A bridge with pod namespaces, like one kubelite node's pod network."""

    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    subnet: str = ""
    namespaces: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"klb{self.suffix}"

    def gateway(self) -> str:
        return f"{self.subnet}.1"

    def pod_ip(self, i: int) -> str:
        return f"{self.subnet}.{10 + i}"

    def setup(self, pods: int) -> None:
        routes = used_subnets()
        while not self.subnet or f"{self.subnet}.0/24" in routes:
            self.subnet = f"10.{random.randint(160, 190)}.{random.randint(0, 255)}"
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.gateway()}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for i in range(pods):
            ns, host_veth = f"kl{self.suffix}-{i}", f"klv{self.suffix}{i}"
            sh("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            sh("ip", "link", "add", host_veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", host_veth, "master", self.bridge)
            sh("ip", "link", "set", host_veth, "up")
            sh("ip", "link", "set", host_veth, "type", "bridge_slave", "hairpin", "on")
            sh("ip", "-n", ns, "addr", "add", f"{self.pod_ip(i)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "route", "add", "default", "via", self.gateway())

    def serve(self, i: int, name: str) -> None:
        self.processes.append(subprocess.Popen(
            ["ip", "netns", "exec", self.namespaces[i], sys.executable, "-c", HTTP_SERVER, name],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def wait_serving(self, i: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(["ip", "netns", "exec", self.namespaces[i], sys.executable, "-c",
                                    "import socket; socket.create_connection(('127.0.0.1', 8080), 1)"],
                                   capture_output=True)
            if probe.returncode == 0:
                return
            time.sleep(0.05)
        raise AssertionError(f"pod {i} never served")

    def requests(self, i: int | None, url: str, count: int) -> dict[str, int]:
        """`count` fresh connections to url from pod i (None: from the node itself)."""
        prefix = ["ip", "netns", "exec", self.namespaces[i]] if i is not None else []
        out = subprocess.run([*prefix, sys.executable, "-c", CLIENT, url, str(count)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        result: dict[str, int] = json.loads(out.stdout)
        return result

    def teardown(self) -> None:
        for proc in self.processes:
            proc.kill()
            with contextlib.suppress(Exception):
                proc.wait(5)
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


@pytest.fixture
def node() -> Iterator[Node]:
    n = Node()
    try:
        n.setup(4)
        for i in range(1, 4):
            n.serve(i, f"pod-{i}")
        for i in range(1, 4):
            n.wait_serving(i)
        yield n
    finally:
        n.teardown()


def pod_body(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels},
            "spec": {"nodeName": "proxy-test-node",
                     "containers": [{"name": "web", "image": "busybox",
                                     "ports": [{"name": "http", "containerPort": 8080}]}]}}


async def set_status(client: ApiClient, name: str, ip: str, ready: bool) -> None:
    flag = "True" if ready else "False"
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
              "conditions": [{"type": "Ready", "status": flag}, {"type": "ContainersReady", "status": flag}]}
    await client.patch("pods", name, "default", {"status": status}, subresource="status")


def service_body(name: str, ip: str, selector: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"clusterIP": ip, "selector": selector,
                     "ports": [{"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}


def endpoints_of(proxy: ServiceProxy, name: str) -> set[str]:
    return {e.ip for p in proxy.model() if p.name == name for e in p.endpoints}


async def test_cluster_ip_reaches_only_ready_pods_and_a_pod_reaches_itself(node: Node, client: ApiClient) -> None:
    tag = node.suffix
    octet = random.randint(1, 250)
    web_ip, self_ip = f"10.97.{octet}.10", f"10.97.{octet}.11"
    controller = EndpointSliceController(client)
    proxy = ServiceProxy(client, f"kubelite_test_{tag}", service_cidr=f"10.97.{octet}.0/24",
                         route_device=node.bridge)
    names = [f"web-{tag}-{i}" for i in range(1, 4)]
    try:
        for i, name in enumerate(names, start=1):
            await client.create("pods", pod_body(name, {"app": f"web-{tag}", "pod": f"p{i}-{tag}"}), "default", raw=True)
            await set_status(client, name, node.pod_ip(i), ready=True)
        await client.create("services", service_body(f"web-{tag}", web_ip, {"app": f"web-{tag}"}), "default", raw=True)
        await client.create("services", service_body(f"self-{tag}", self_ip, {"pod": f"p1-{tag}"}), "default", raw=True)
        await controller.start()
        await proxy.start()
        await eventually(
            lambda: endpoints_of(proxy, f"web-{tag}") == {node.pod_ip(i) for i in (1, 2, 3)}
            and proxy.applied is not None and node.pod_ip(3) in proxy.applied.text,
            what="the proxy's rules for the three endpoints")

        everyone = await asyncio.to_thread(node.requests, 0, f"http://{web_ip}/", 60)
        assert sorted(everyone) == ["pod-1", "pod-2", "pod-3"], everyone

        await set_status(client, names[1], node.pod_ip(2), ready=False)
        changed = time.monotonic()
        await eventually(
            lambda: proxy.applied is not None and node.pod_ip(2) not in proxy.applied.text,
            what="the not-ready endpoint out of the rules")
        assert proxy.last_sync - changed < 1.0  # rules follow readiness within a second
        counts = await asyncio.to_thread(node.requests, 0, f"http://{web_ip}/", 100)
        assert sum(counts.values()) == 100 and set(counts) == {"pod-1", "pod-3"}, counts

        hairpin = await asyncio.to_thread(node.requests, 1, f"http://{self_ip}/", 5)
        assert hairpin == {"pod-1": 5}
        from_node = await asyncio.to_thread(node.requests, None, f"http://{web_ip}/", 10)
        assert sum(from_node.values()) == 10 and set(from_node) <= {"pod-1", "pod-3"}, from_node

        await client.delete("services", f"self-{tag}", "default")
        await eventually(lambda: proxy.applied is not None and self_ip not in proxy.applied.text)
    finally:
        await proxy.stop()
        await controller.stop()
        for name in names:
            with contextlib.suppress(Exception):
                await client.delete("pods", name, "default", grace_period=0)
        for svc in (f"web-{tag}", f"self-{tag}"):
            with contextlib.suppress(Exception):
                await client.delete("services", svc, "default")
        kept = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
        # stop() leaves the rules in place, as kube-proxy does; cleanup is a separate step.
        subprocess.run(["nft", "delete", "table", "ip", f"kubelite_test_{tag}"], capture_output=True)
        subprocess.run(["ip", "route", "del", f"10.97.{octet}.0/24"], capture_output=True)
    assert f"kubelite_test_{tag}" in kept
    listing = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert f"kubelite_test_{tag}" not in listing
    assert f"10.97.{octet}.0/24" not in used_subnets()
