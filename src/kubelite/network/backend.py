"""What every backend shares: this node's facts, the backend interface, and the MTU rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kubelite.network import iproute
from kubelite.network.peers import Peer

DEFAULT_MTU = 1500


@dataclass(frozen=True)
class LocalNode:
    """This node, as its pod network sees it. `device` and `table` are per cluster
    (HostNames), so two clusters on one machine never share them."""

    name: str
    public_ip: str
    pod_cidr: str
    cluster_cidr: str
    device: str  # the vxlan device (vxlan backend only)
    table: str  # the nft table holding masquerade and forward rules


class Backend(Protocol):
    """One way of carrying pod traffic between nodes."""

    kind: str

    async def start(self) -> None:
        """Adopt what the previous agent left (nothing is removed here)."""
        ...

    async def pod_mtu(self) -> int:
        """The MTU pods' interfaces get on this node."""
        ...

    def annotations(self) -> dict[str, str]:
        """What this node publishes on its Node object for the others."""
        ...

    async def reconcile(self, peers: list[Peer]) -> None:
        """Make the kernel's state match `peers`: add, change and remove in place."""
        ...

    async def peer_devices(self) -> list[str]:
        """The interfaces (present now) through which this node's traffic to other nodes'
        pods leaves and their answers come in."""
        ...

    async def cleanup(self) -> None:
        """Remove everything the backend made (`--cleanup`)."""
        ...


async def underlay_device(public_ip: str) -> list[str]:
    """The interface holding the node's address, unless it is loopback (a single machine)."""
    found = await iproute.device_of(public_ip)
    return [found[0]] if found is not None and found[0] != "lo" else []


async def underlying_mtu(public_ip: str) -> int:
    """The MTU of the interface carrying the node's address (1500 when it is loopback or
    not found: a loopback MTU of 65536 says nothing about the wire between machines)."""
    found = await iproute.device_of(public_ip)
    if found is None or found[0] == "lo" or found[1] <= 0:
        return DEFAULT_MTU
    return found[1]
