"""The CNI bridge network: addresses, routes, hostPort, idempotent delete, teardown."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import subprocess
from pathlib import Path

import pytest

from kubelite.runtime.cni import IP_FORWARD, CniError, CniNetwork, PortMapping, teardown_network
from kubelite.runtime.sandbox import SandboxConfig

from .conftest import Node, free_cidr
from .test_sandbox import WEB, http_get, wait_http


def ns_routes(netns: str) -> str:
    return subprocess.run(["ip", "-n", netns, "-4", "route"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


async def test_add_gives_an_address_and_no_default_route(node: Node) -> None:
    info = await node.sandbox("p")
    subnet = node.network.subnet
    assert ipaddress.ip_address(info.pod_ip) in subnet
    assert info.pod_ip != node.network.gateway
    routes = ns_routes(info.netns_name)
    assert "default" not in routes
    assert str(subnet) in routes
    await node.network.check("p", info.netns_path)
    # The host side has the gateway address on the bridge.
    addrs = subprocess.run(["ip", "-4", "addr", "show", node.network.bridge_name],
                           capture_output=True, text=True).stdout  # fmt: skip
    assert f"{node.network.gateway}/{subnet.prefixlen}" in addrs


async def test_delete_releases_the_ip_and_is_idempotent(node: Node) -> None:
    info = await node.sandbox("d")
    ipam_files = os.listdir(os.path.join(node.network.ipam_dir, node.network.network_name))
    assert info.pod_ip in ipam_files
    await node.network.delete("d", info.netns_path)
    await node.network.delete("d", info.netns_path)
    assert info.pod_ip not in os.listdir(
        os.path.join(node.network.ipam_dir, node.network.network_name)
    )
    assert "eth0" not in subprocess.run(["ip", "-n", info.netns_name, "link"], capture_output=True,
                                        text=True).stdout  # fmt: skip
    with pytest.raises(CniError):
        await node.network.check("d", info.netns_path)


async def test_service_cidr_route_and_ip_forward(node: Node, tmp_path: Path) -> None:
    with open(IP_FORWARD) as f:
        before = f.read()
    net = CniNetwork(f"kltsv{node.suffix}", free_cidr(), str(tmp_path / "ipam2"),
                     service_cidr="10.199.0.0/16")  # fmt: skip
    info = await node.sandboxes.create_sandbox(SandboxConfig(name="svc", hostname="svc"))
    try:
        await net.add("svc", info.netns_path)
        assert f"10.199.0.0/16 via {net.gateway}" in ns_routes(info.netns_name)
        assert f"default via {net.gateway}" in ns_routes(info.netns_name)  # answers go anywhere
        assert open(IP_FORWARD).read().strip() == "1"
    finally:
        await net.delete("svc", info.netns_path)
        await teardown_network(net.bridge_name)
        with open(IP_FORWARD, "w") as f:
            f.write(before)
    assert not os.path.exists(f"/sys/class/net/{net.bridge_name}")


async def test_host_port_reaches_the_pod(node: Node) -> None:
    info = await node.sandboxes.create_sandbox(SandboxConfig(name="hp", hostname="hp"))
    host_port = 30000 + int(node.suffix, 16) % 2000
    ip = await node.network.add("hp", info.netns_path, [PortMapping(host_port, 8080)])
    await node.sandboxes.set_pod_ip("hp", ip)
    await node.run("web", node.in_sandbox(info, WEB, "web"))
    await wait_http(ip)
    # From the node itself; portmap masquerades localhost so the pod (no default route) can answer.
    assert "hello from A" in await asyncio.to_thread(http_get, "127.0.0.1", host_port)
    await node.network.delete("hp", info.netns_path)
    rules = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True).stdout
    assert f"--dport {host_port}" not in rules
