"""From Node objects to the routes, ARP entries and FDB entries this node should hold.

Pure functions, no I/O: the backends diff what these return against the kernel's tables.

Each node publishes how to reach its pods as annotations, in flannel's shape under our own
prefix (flannel: flannel.alpha.coreos.com/backend-type, backend-data, public-ip):

    kubelite.io/backend-type: vxlan | host-gw
    kubelite.io/backend-data: {"VNI":1,"VtepMAC":"8e:..."}   (vxlan; "null" for host-gw)
    kubelite.io/public-ip:    the node's InternalIP, where its VXLAN packets / routes go

A node without these (a simulated node, an agent with `--pod-network none`) or with another
backend is no peer: nothing is programmed for it.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

BACKEND_TYPE = "kubelite.io/backend-type"
BACKEND_DATA = "kubelite.io/backend-data"
PUBLIC_IP = "kubelite.io/public-ip"

VXLAN = "vxlan"
HOST_GW = "host-gw"
NONE = "none"
BACKENDS = (VXLAN, HOST_GW, NONE)

VNI = 1
VXLAN_PORT = 8472  # flannel's (and the Linux default before IANA's 4789)
VXLAN_OVERHEAD = 50  # outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14


@dataclass(frozen=True)
class Peer:
    """Another node, as far as the pod network is concerned."""

    name: str
    pod_cidr: str
    public_ip: str
    backend: str
    vtep_mac: str = ""  # vxlan only; empty until the peer has made its device

    @property
    def vtep_ip(self) -> str:
        """The peer's VXLAN device address: the network address of its pod CIDR (flannel's)."""
        return str(ipaddress.ip_network(self.pod_cidr, strict=False).network_address)


@dataclass(frozen=True)
class Route:
    """`ip route replace DST via VIA [dev DEV onlink]`."""

    dst: str
    via: str
    onlink: bool = False


@dataclass(frozen=True)
class Neighbour:
    """A permanent ARP entry on the vxlan device: VTEP address -> VTEP MAC."""

    ip: str
    mac: str


@dataclass(frozen=True)
class FdbEntry:
    """A forwarding entry on the vxlan device: frames for `mac` go to the node at `dst`."""

    mac: str
    dst: str


@dataclass(frozen=True)
class Desired:
    """Everything one node should hold for its peers."""

    routes: frozenset[Route] = frozenset()
    neighbours: frozenset[Neighbour] = frozenset()
    fdb: frozenset[FdbEntry] = frozenset()


def vxlan_data(mac: str, vni: int = VNI) -> str:
    """The backend-data annotation of a vxlan node (flannel's JSON keys)."""
    return json.dumps({"VNI": vni, "VtepMAC": mac}, separators=(",", ":"))


def node_annotations(backend: str, public_ip: str, vtep_mac: str = "") -> dict[str, str]:
    """What a node running `backend` publishes about itself."""
    out = {BACKEND_TYPE: backend, PUBLIC_IP: public_ip}
    if backend == HOST_GW:
        out[BACKEND_DATA] = "null"
    elif backend == VXLAN and vtep_mac:
        out[BACKEND_DATA] = vxlan_data(vtep_mac)
    return out


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def peer_from_node(node: dict[str, Any]) -> Peer | None:
    """The node's pod-network facts, or None when it publishes none (or nonsense)."""
    meta = node.get("metadata") or {}
    notes = meta.get("annotations") or {}
    pod_cidr = (node.get("spec") or {}).get("podCIDR") or ""
    backend = notes.get(BACKEND_TYPE, "")
    public_ip = notes.get(PUBLIC_IP, "")
    if not (pod_cidr and backend in (VXLAN, HOST_GW) and _valid_ip(public_ip)):
        return None
    try:
        ipaddress.IPv4Network(pod_cidr)
    except ValueError:
        return None
    mac = ""
    if backend == VXLAN:
        try:
            data = json.loads(notes.get(BACKEND_DATA) or "null") or {}
            mac = str(data.get("VtepMAC") or "").lower() if isinstance(data, dict) else ""
        except ValueError:
            mac = ""
    return Peer(meta.get("name", ""), pod_cidr, public_ip, backend, mac)


def peers(nodes: Iterable[dict[str, Any]], me: str, backend: str, my_pod_cidr: str,
          my_public_ip: str = "") -> list[Peer]:
    """The other nodes on this backend, one per pod CIDR (by name, when two claim one)."""
    mine = ipaddress.IPv4Network(my_pod_cidr) if my_pod_cidr else None
    out: dict[str, Peer] = {}
    for node in nodes:
        peer = peer_from_node(node)
        if peer is None or peer.name == me or peer.backend != backend:
            continue
        if peer.public_ip == my_public_ip:
            continue  # a stale twin of this machine: never route to ourselves
        net = ipaddress.IPv4Network(peer.pod_cidr)
        if mine is not None and net.overlaps(mine):
            continue
        held = out.get(str(net))
        if held is None or peer.name < held.name:
            out[str(net)] = peer
    return sorted(out.values(), key=lambda p: p.name)


def vxlan_desired(peer_list: Iterable[Peer]) -> Desired:
    """Per peer with a VTEP MAC: route POD_CIDR via VTEP_IP onlink, ARP VTEP_IP -> MAC,
    FDB MAC -> PUBLIC_IP (flannel's vxlan backend, "DirectRouting" off)."""
    ready = [p for p in peer_list if p.vtep_mac]
    return Desired(
        routes=frozenset(Route(p.pod_cidr, p.vtep_ip, onlink=True) for p in ready),
        neighbours=frozenset(Neighbour(p.vtep_ip, p.vtep_mac) for p in ready),
        fdb=frozenset(FdbEntry(p.vtep_mac, p.public_ip) for p in ready),
    )


def host_gw_desired(peer_list: Iterable[Peer]) -> Desired:
    """Per peer: route POD_CIDR via PUBLIC_IP (the peer must be on this node's L2 segment)."""
    return Desired(routes=frozenset(Route(p.pod_cidr, p.public_ip) for p in peer_list))


def within(cidr: str, cluster_cidr: str) -> bool:
    """Whether `cidr` lies inside the cluster CIDR (the routes a backend may own)."""
    try:
        return ipaddress.IPv4Network(cidr, strict=False).subnet_of(
            ipaddress.IPv4Network(cluster_cidr, strict=False))
    except (ValueError, TypeError):
        return False
