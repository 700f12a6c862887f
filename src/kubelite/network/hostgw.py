"""The host-gw backend: a plain route to every peer's pod CIDR via the peer's address.

No encapsulation (pods keep the full MTU), but every node must be on one L2 segment: a route
via an address that is not on-link is refused by the kernel, and that peer stays unreachable
(logged). The routes carry protocol ROUTE_PROTO, and only routes with that protocol inside the
cluster CIDR are ever changed or removed, so the host's own routes are never touched.
"""

from __future__ import annotations

import logging

from kubelite.network import iproute
from kubelite.network.backend import LocalNode, underlay_device, underlying_mtu
from kubelite.network.peers import (
    HOST_GW,
    Desired,
    Peer,
    Route,
    host_gw_desired,
    node_annotations,
    within,
)

log = logging.getLogger(__name__)

ROUTE_PROTO = 75  # `ip route ... proto 75`: marks the routes this backend owns


class HostGwBackend:
    """Routes for nodes that share a LAN."""

    kind = HOST_GW

    def __init__(self, local: LocalNode) -> None:
        self.local = local

    async def pod_mtu(self) -> int:
        return await underlying_mtu(self.local.public_ip)

    def annotations(self) -> dict[str, str]:
        return node_annotations(HOST_GW, self.local.public_ip)

    async def start(self) -> None:
        """Nothing to adopt: routes left by the previous agent are diffed at reconcile."""

    async def peer_devices(self) -> list[str]:
        return await underlay_device(self.local.public_ip)

    async def current(self) -> frozenset[Route]:
        return frozenset(
            Route(r["dst"], r.get("gateway", ""))
            for r in await iproute.read_json("ip", "-4", "route", "show", "proto",
                                             str(ROUTE_PROTO))
            if within(r.get("dst", ""), self.local.cluster_cidr))

    async def reconcile(self, peers: list[Peer]) -> None:
        await self.apply(host_gw_desired(peers))

    async def apply(self, want: Desired) -> None:
        have = await self.current()
        lines = [f"route del {r.dst} via {r.via} proto {ROUTE_PROTO}" for r in have - want.routes]
        lines += [f"route replace {r.dst} via {r.via} proto {ROUTE_PROTO}"
                  for r in sorted(want.routes - have, key=str)]
        await iproute.batch("ip", lines)
        if lines:
            log.info("pod network: routes to %d peer(s) (%d change(s))", len(want.routes),
                     len(lines))

    async def cleanup(self) -> None:
        await self.apply(Desired())
