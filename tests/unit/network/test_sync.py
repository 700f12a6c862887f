"""PodNetwork follows the Node objects: joins, address changes and departures reach the
backend as full desired sets, and the node publishes its own annotations."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelite.network import forwarding, sync
from kubelite.network.backend import LocalNode
from kubelite.network.peers import PUBLIC_IP, VXLAN, Peer, node_annotations
from kubelite.network.sync import PodNetwork
from tests.unit.sim.fake_client import FakeClient

ME = LocalNode("a", "198.18.0.1", "10.42.0.0/24", "10.42.0.0/16", "kltest.1", "kubelite_t_net")


class FakeBackend:
    """Records what it is asked to hold."""

    kind = VXLAN

    def __init__(self) -> None:
        self.held: list[list[Peer]] = []
        self.mac = "aa:aa:aa:aa:aa:01"

    async def start(self) -> None: ...

    async def pod_mtu(self) -> int:
        return 1450

    def annotations(self) -> dict[str, str]:
        return node_annotations(VXLAN, ME.public_ip, self.mac)

    async def reconcile(self, peers: list[Peer]) -> None:
        self.held.append(peers)

    async def peer_devices(self) -> list[str]:
        return [ME.device] if self.held and self.held[-1] else []  # made with the first peer

    async def cleanup(self) -> None: ...


def node(name: str, cidr: str, ip: str, mac: str = "") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": node_annotations(VXLAN, ip, mac)},
            "spec": {"podCIDR": cidr}}


async def until(check: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def no_host_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    async def nothing(*_: Any) -> bool:
        return False

    monkeypatch.setattr(forwarding, "ensure", nothing)
    monkeypatch.setattr(forwarding, "ensure_iptables_accept", nothing)


def names(peers: list[Peer]) -> list[tuple[str, str]]:
    return [(p.name, p.public_ip) for p in peers]


async def test_join_change_and_leave_reach_the_backend() -> None:
    client = FakeClient()
    await client.put_direct("nodes", {"metadata": {"name": "a"}, "spec": {"podCIDR": ME.pod_cidr}})
    await client.put_direct("nodes", node("b", "10.42.1.0/24", "198.18.0.2", "aa:00:00:00:00:02"))
    backend = FakeBackend()
    net = PodNetwork(client, backend, ME, batch_delay=0.0)  # type: ignore[arg-type]
    await net.start()
    try:
        assert names(backend.held[-1]) == [("b", "198.18.0.2")]
        mine = client.get_obj("nodes", "a")["metadata"]["annotations"]  # type: ignore[index]
        assert mine == backend.annotations()
        await client.put_direct("nodes", node("c", "10.42.2.0/24", "198.18.0.3", "aa:0:0:0:0:3"))
        await until(lambda: names(backend.held[-1]) == [("b", "198.18.0.2"),
                                                         ("c", "198.18.0.3")])
        await client.put_direct("nodes", node("b", "10.42.1.0/24", "198.18.0.20", "aa:0:0:0:0:2"))
        await until(lambda: ("b", "198.18.0.20") in names(backend.held[-1]))
        await client.delete("nodes", "c")
        await until(lambda: names(backend.held[-1]) == [("b", "198.18.0.20")])
    finally:
        await net.stop()


async def test_a_new_vtep_mac_is_published_and_a_resync_runs_without_events() -> None:
    client = FakeClient()
    await client.put_direct("nodes", {"metadata": {"name": "a"}, "spec": {"podCIDR": ME.pod_cidr}})
    backend = FakeBackend()
    net = PodNetwork(client, backend, ME, resync=0.05, batch_delay=0.0)  # type: ignore[arg-type]
    await net.start()
    try:
        backend.mac = "aa:aa:aa:aa:aa:99"  # the device was remade
        await until(lambda: "aa:aa:aa:aa:aa:99" in str(client.get_obj("nodes", "a")))
        assert client.get_obj("nodes", "a")["metadata"]["annotations"][PUBLIC_IP] == ME.public_ip  # type: ignore[index]
        patches = client.count("patch", "nodes", "a")
        runs = net.syncs
        await until(lambda: net.syncs >= runs + 3)
        assert client.count("patch", "nodes", "a") == patches  # unchanged: not patched again
    finally:
        await net.stop()


async def test_localnet_follows_the_devices_to_other_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    """With NodePorts on 127.0.0.1, every device leading to other nodes gets route_localnet,
    also one made later (the vxlan device appears with the first peer)."""
    set_on: list[str] = []
    monkeypatch.setattr(sync, "route_localnet", set_on.append)
    client = FakeClient()
    await client.put_direct("nodes", {"metadata": {"name": "a"}, "spec": {"podCIDR": ME.pod_cidr}})
    net = PodNetwork(client, FakeBackend(), ME, batch_delay=0.0, localnet=True)  # type: ignore[arg-type]
    await net.start()
    try:
        assert set_on == []  # alone: no device yet
        await client.put_direct("nodes", node("b", "10.42.1.0/24", "198.18.0.2", "aa:0:0:0:0:2"))
        await until(lambda: ME.device in set_on)
    finally:
        await net.stop()
