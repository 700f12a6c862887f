"""The pod network backends on real kernels: three machines (network namespaces) on a test LAN,
a pod on each; pods reach each other by ICMP and TCP across machines with vxlan and host-gw,
re-applying changes nothing (an agent restart does not flap), a departed node's route goes,
and cleanup removes the device, routes and rules."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from kubelite.network.peers import BACKEND_DATA, HOST_GW, VXLAN
from tests.helpers.pod_lan import Machine, PodLan, make_pod_lan, sh

pytestmark = pytest.mark.root

TCP_ECHO = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7777)); s.listen(); print("ready", flush=True)
while True:
    c, peer = s.accept(); c.sendall(("hello " + peer[0]).encode()); c.close()
"""

TCP_CLIENT = """
import socket, sys
c = socket.create_connection((sys.argv[1], 7777), timeout=5); print(c.recv(100).decode())
"""


@pytest.fixture
def lan() -> Iterator[PodLan]:
    lan = make_pod_lan(3)
    try:
        yield lan
    finally:
        lan.close()


def ping(src: Machine, dst_ip: str, count: int = 2) -> bool:
    out = sh("busybox", "ping", "-c", str(count), "-W", "2", "-i", "0.2", dst_ip, netns=src.pod_netns,
             check=False)
    return out.returncode == 0


def tcp_hello(src: Machine, dst: Machine) -> str:
    """Connect from src's pod to dst's pod; the answer names the source address dst saw."""
    server = subprocess.Popen(["nsenter", f"--net=/run/netns/{dst.pod_netns}", sys.executable,
                               "-c", TCP_ECHO], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        return sh(sys.executable, "-c", TCP_CLIENT, dst.pod_ip, netns=src.pod_netns).stdout.strip()
    finally:
        server.kill()
        server.wait()


def every_pair_talks(lan: PodLan) -> None:
    for src in lan.machines:
        for dst in lan.machines:
            if src is not dst:
                assert ping(src, dst.pod_ip), f"{src.name} -> {dst.name} pod: no ICMP"
    a, b, c = lan.machines
    # no NAT between pods: the far pod sees the near pod's own address
    assert tcp_hello(a, c) == f"hello {a.pod_ip}"
    assert tcp_hello(c, b) == f"hello {c.pod_ip}"


def routes(m: Machine) -> str:
    return sh("ip", "-4", "route", "show", netns=m.netns).stdout


def link_index(m: Machine, dev: str) -> int:
    return int(json.loads(sh("ip", "-j", "link", "show", "dev", dev, netns=m.netns).stdout)[0]
               ["ifindex"])


def test_vxlan_carries_pod_traffic_between_machines(lan: PodLan) -> None:
    a, b, c = lan.machines
    assert not ping(a, c.pod_ip, 1)  # before: "Network is unreachable" on the machine
    lan.converge(VXLAN)
    dev = lan.device()
    details = json.loads(sh("ip", "-d", "-j", "link", "show", "dev", dev, netns=a.netns).stdout)[0]
    vx = details["linkinfo"]["info_data"]
    assert (vx["id"], vx["port"], vx["local"], vx["learning"]) == (1, 8472, a.ip, False)
    assert details["mtu"] == 1450  # 1500 on the LAN, less 50 for the encapsulation
    assert json.loads(a.annotations[BACKEND_DATA])["VtepMAC"] == details["address"]
    assert f"{c.pod_cidr} via {c.pod_cidr[:-3]} dev {dev} onlink" in routes(a)
    assert "PERMANENT" in sh("ip", "neigh", "show", "dev", dev, netns=a.netns).stdout
    assert f"dst {c.ip}" in sh("bridge", "fdb", "show", "dev", dev, netns=a.netns).stdout
    every_pair_talks(lan)

    # an agent restart re-applies the same set: same device, nothing changes, traffic flows
    index = link_index(a, dev)
    before = routes(a)
    lan.run_backend(a, "apply", VXLAN, [m.node() for m in lan.machines])
    assert link_index(a, dev) == index and routes(a) == before

    # c leaves: a and b drop its route, ARP and FDB entries
    lan.converge(VXLAN, [a, b])
    assert c.pod_cidr not in routes(a) and c.pod_cidr not in routes(b)
    assert f"dst {c.ip}" not in sh("bridge", "fdb", "show", "dev", dev, netns=a.netns).stdout
    assert ping(a, b.pod_ip) and not ping(a, c.pod_ip, 1)

    for m in lan.machines:
        lan.run_backend(m, "cleanup", VXLAN, [])
        assert dev not in sh("ip", "link", netns=m.netns).stdout
        assert lan.table() not in sh("nft", "list", "tables", netns=m.netns).stdout


def test_host_gw_routes_pods_even_when_the_forward_policy_drops(lan: PodLan) -> None:
    a, b, c = lan.machines
    for m in lan.machines:  # a host firewall like Docker's
        sh("iptables", "-P", "FORWARD", "DROP", netns=m.netns)
    lan.converge(HOST_GW)
    assert f"{c.pod_cidr} via {c.ip} dev eth0 proto 75" in routes(a)
    assert lan.device() not in sh("ip", "link", netns=a.netns).stdout  # no overlay
    every_pair_talks(lan)

    # c changes address: the others follow
    sh("ip", "addr", "del", f"{c.ip}/24", "dev", "eth0", netns=c.netns)
    c.ip = c.ip.rsplit(".", 1)[0] + ".99"
    sh("ip", "addr", "add", f"{c.ip}/24", "dev", "eth0", netns=c.netns)
    lan.converge(HOST_GW)
    assert f"{c.pod_cidr} via {c.ip} dev eth0 proto 75" in routes(a)
    assert ping(a, c.pod_ip)

    lan.converge(HOST_GW, [a, b])  # c leaves
    assert c.pod_cidr not in routes(a)

    for m in lan.machines:
        lan.run_backend(m, "cleanup", HOST_GW, [])
        assert "proto 75" not in routes(m)
        assert "pod network" not in sh("iptables", "-S", "FORWARD", netns=m.netns).stdout
    assert "default" not in routes(a) and a.ip.rsplit(".", 1)[0] in routes(a)  # LAN route kept


def test_pods_leaving_the_cluster_cidr_are_masqueraded(lan: PodLan) -> None:
    a, b, _ = lan.machines
    lan.converge(HOST_GW)
    # b's machine address lies outside the cluster CIDR: a's pod reaches it as a's machine
    sh("ip", "route", "add", f"{b.ip}/32", "via", a.pod_cidr[:-4] + "1", netns=a.pod_netns)
    server = subprocess.Popen(["nsenter", f"--net=/run/netns/{b.netns}", sys.executable, "-c",
                               TCP_ECHO], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        out = sh(sys.executable, "-c", TCP_CLIENT, b.ip, netns=a.pod_netns).stdout.strip()
    finally:
        server.kill()
        server.wait()
    assert out == f"hello {a.ip}"
