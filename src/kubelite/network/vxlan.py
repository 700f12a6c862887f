"""The VXLAN backend: one kernel vxlan device per node, entries kept like flannel's.

The device (VNI 1, UDP 8472, nolearning, local = the node's public IP, MTU = underlying - 50)
holds the node's pod-CIDR network address as a /32. For every peer it holds a route to the
peer's pod CIDR via the peer's VTEP address (onlink), a permanent ARP entry VTEP address ->
VTEP MAC, and an FDB entry VTEP MAC -> the peer's public IP. With no learning, the kernel
never guesses: a peer is reachable exactly when its three entries are there.

The device is made when the first peer appears (a lone node needs none, and concurrent
single-node clusters on one machine would fight over VNI 1 on port 8472) and is kept across
agent restarts: reconciling diffs the kernel's tables and changes only what differs, so
established connections never see the network flap. Deleting the device removes its routes,
ARP and FDB entries with it.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from kubelite.network import iproute
from kubelite.network.backend import LocalNode, underlying_mtu
from kubelite.network.peers import (
    VNI,
    VXLAN,
    VXLAN_OVERHEAD,
    VXLAN_PORT,
    Desired,
    FdbEntry,
    Neighbour,
    Peer,
    Route,
    node_annotations,
    vxlan_desired,
)

log = logging.getLogger(__name__)


class VxlanBackend:
    """Overlay for nodes that reach each other over UDP, on any network."""

    kind = VXLAN

    def __init__(self, local: LocalNode) -> None:
        self.local = local
        self.dev = local.device
        self.vtep_mac = ""  # known once the device exists
        self._mtu = 0

    async def pod_mtu(self) -> int:
        if not self._mtu:
            self._mtu = await underlying_mtu(self.local.public_ip) - VXLAN_OVERHEAD
        return self._mtu

    def annotations(self) -> dict[str, str]:
        return node_annotations(VXLAN, self.local.public_ip, self.vtep_mac)

    async def start(self) -> None:
        """Adopt a device left by the previous agent (its MAC is what the Node says)."""
        if await iproute.link_exists(self.dev):
            await self.ensure_device()

    async def reconcile(self, peers: list[Peer]) -> None:
        if not peers and not await iproute.link_exists(self.dev):
            return
        await self.ensure_device()
        await self.apply(vxlan_desired(peers))

    async def peer_devices(self) -> list[str]:
        return [self.dev] if await iproute.link_exists(self.dev) else []

    # -- the device -------------------------------------------------------------------------

    def _matches(self, link: dict[str, Any]) -> bool:
        info = link.get("linkinfo") or {}
        data = info.get("info_data") or {}
        return (info.get("info_kind") == "vxlan" and data.get("id") == VNI
                and data.get("port") == VXLAN_PORT and data.get("local") == self.local.public_ip
                and not data.get("learning", False))

    async def ensure_device(self) -> None:
        """The device as it should be: made if missing, remade if its VNI, port or local
        address differ (the node's address changed), otherwise only MTU, address and state
        are corrected in place."""
        mtu = await self.pod_mtu()
        links = await iproute.read_json("ip", "-d", "link", "show", "dev", self.dev)
        if links and not self._matches(links[0]):
            log.info("pod network: remaking %s (VNI, port or local address changed)", self.dev)
            await iproute.run("ip", "link", "del", self.dev)
            links = []
        if not links:
            await iproute.run("ip", "link", "add", self.dev, "mtu", str(mtu), "type", "vxlan",
                              "id", str(VNI), "local", self.local.public_ip,
                              "dstport", str(VXLAN_PORT), "nolearning")
            links = await iproute.read_json("ip", "-d", "link", "show", "dev", self.dev)
        link = links[0]
        vtep = str(ipaddress.ip_network(self.local.pod_cidr, strict=False).network_address)
        lines = []
        if link.get("mtu") != mtu:
            lines.append(f"link set dev {self.dev} mtu {mtu}")
        addrs = await iproute.read_json("ip", "-4", "addr", "show", "dev", self.dev)
        have = {(a.get("local"), a.get("prefixlen"))
                for a in (addrs[0].get("addr_info") or [] if addrs else [])}
        lines += [f"addr del {ip}/{plen} dev {self.dev}" for ip, plen in have
                  if (ip, plen) != (vtep, 32)]
        if (vtep, 32) not in have:
            lines.append(f"addr add {vtep}/32 dev {self.dev}")
        if "UP" not in (link.get("flags") or []):
            lines.append(f"link set dev {self.dev} up")
        await iproute.batch("ip", lines)
        self.vtep_mac = str(link.get("address", "")).lower()

    # -- its entries ------------------------------------------------------------------------

    async def current(self) -> Desired:
        """What the device holds now (only the entries this backend manages)."""
        routes = {Route(r["dst"], r.get("gateway", ""), "onlink" in (r.get("flags") or []))
                  for r in await iproute.read_json("ip", "-4", "route", "show", "dev", self.dev)
                  if r.get("gateway")}
        neigh = {Neighbour(n["dst"], str(n.get("lladdr", "")).lower())
                 for n in await iproute.read_json("ip", "-4", "neigh", "show", "dev", self.dev)
                 if "PERMANENT" in (n.get("state") or [])}
        fdb = {FdbEntry(str(f["mac"]).lower(), f.get("dst", ""))
               for f in await iproute.read_json("bridge", "fdb", "show", "dev", self.dev)
               if f.get("dst") and "self" in (f.get("flags") or [])}
        return Desired(frozenset(routes), frozenset(neigh), frozenset(fdb))

    async def apply(self, want: Desired) -> None:
        """Remove what is stale, then add what is missing: one `ip` and one `bridge` run."""
        have = await self.current()
        dev = self.dev
        ip_lines = [f"route del {r.dst} via {r.via} dev {dev}" for r in have.routes - want.routes]
        ip_lines += [f"neigh del {n.ip} dev {dev}" for n in have.neighbours - want.neighbours]
        ip_lines += [f"neigh replace {n.ip} lladdr {n.mac} dev {dev} nud permanent"
                     for n in sorted(want.neighbours - have.neighbours, key=str)]
        ip_lines += [f"route replace {r.dst} via {r.via} dev {dev} onlink"
                     for r in sorted(want.routes - have.routes, key=str)]
        fdb_lines = [f"fdb del {f.mac} dev {dev} dst {f.dst} self" for f in have.fdb - want.fdb]
        fdb_lines += [f"fdb append {f.mac} dev {dev} dst {f.dst} self permanent"
                      for f in sorted(want.fdb - have.fdb, key=str)]
        # FDB first so that the first packet routed to a new peer already has its way out.
        await iproute.batch("bridge", fdb_lines)
        await iproute.batch("ip", ip_lines)
        if ip_lines or fdb_lines:
            log.info("pod network: %s now reaches %d peer(s) (%d change(s))", dev,
                     len(want.routes), len(ip_lines) + len(fdb_lines))

    async def cleanup(self) -> None:
        if await iproute.link_exists(self.dev):
            await iproute.run("ip", "link", "del", self.dev)
