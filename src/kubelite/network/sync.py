"""Keeping this node's pod network in step with the Node objects.

An informer on nodes (through the API client, like any component) marks the state dirty on
every add, update and delete; a loop then computes the full desired set from the informer's
cache and lets the backend diff it against the kernel. A periodic resync does the same without
events, so drift (a route deleted by hand) is repaired, and a restarted agent converges from
whatever its predecessor left. The node's own annotations are patched whenever they differ.
With `localnet` (NodePorts answer on 127.0.0.1), every sync also sets `route_localnet` on the
devices leading to other nodes (the vxlan device, or host-gw's LAN interface): a connection to
127.0.0.1:NODEPORT whose endpoint is a pod on another node leaves through them with a loopback
source until masqueraded, and its answers come back to 127.0.0.1 through them.
`stop()` leaves devices, routes and rules in place: pods keep talking while the agent restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kubelite.client import ApiClient, Informer
from kubelite.network import forwarding
from kubelite.network.backend import Backend, LocalNode
from kubelite.network.hostgw import HostGwBackend
from kubelite.network.peers import HOST_GW, VXLAN, peers
from kubelite.network.vxlan import VxlanBackend
from kubelite.proxy.proxier import route_localnet

log = logging.getLogger(__name__)

RESYNC_INTERVAL = 30.0


def make_backend(kind: str, local: LocalNode) -> Backend:
    if kind == VXLAN:
        return VxlanBackend(local)
    if kind == HOST_GW:
        return HostGwBackend(local)
    raise ValueError(f"unknown pod network backend {kind!r} (vxlan, host-gw or none)")


class PodNetwork:
    """One node's share of the cluster's pod network."""

    def __init__(self, client: ApiClient, backend: Backend, local: LocalNode, *,
                 resync: float = RESYNC_INTERVAL, batch_delay: float = 0.05,
                 localnet: bool = False) -> None:
        self.client = client
        self.backend = backend
        self.local = local
        self.resync = resync
        self.batch_delay = batch_delay
        self.localnet = localnet
        self.nodes = Informer(client, "nodes", raw=True)
        self.syncs = 0
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._informer_task: asyncio.Task[None] | None = None
        for register in (self.nodes.on_add, self.nodes.on_update, self.nodes.on_delete):
            register(self._mark)

    def _mark(self, *_: Any) -> None:
        self._dirty.set()

    async def start(self) -> None:
        """Forwarding and NAT, adopt what the last agent left, then follow the nodes."""
        await forwarding.ensure(self.local.table, self.local.pod_cidr, self.local.cluster_cidr)
        await self.backend.start()
        self._informer_task = self.nodes.start()
        await self.nodes.has_synced()
        try:
            await self.sync()
        except Exception as e:  # noqa: BLE001 - the loop retries
            log.warning("pod network: first sync failed: %s", e)
        self._task = asyncio.create_task(self._loop(), name="pod-network")

    async def sync(self) -> None:
        """Reconcile the full desired set once, then publish this node's annotations."""
        self._dirty.clear()
        wanted = peers(self.nodes.list(), self.local.name, self.backend.kind,
                       self.local.pod_cidr, self.local.public_ip)
        await self.backend.reconcile(wanted)
        if self.localnet:  # a device may have been (re)made: the setting goes with it
            for device in await self.backend.peer_devices():
                route_localnet(device)
        await self.publish()
        self.syncs += 1

    async def publish(self) -> None:
        """Patch the Node's annotations when they differ from what the backend says."""
        want = self.backend.annotations()
        node = self.nodes.get_by_name(self.local.name) or {}
        have = (node.get("metadata") or {}).get("annotations") or {}
        if all(have.get(k) == v for k, v in want.items()):
            return
        await self.client.patch("nodes", self.local.name, None,
                                {"metadata": {"annotations": want}}, raw=True)

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self.resync)
            await asyncio.sleep(self.batch_delay)
            try:
                await self.sync()
                await forwarding.ensure_iptables_accept(self.local.cluster_cidr,
                                                        self.local.table)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - keep the network; try again shortly
                log.warning("pod network: sync failed: %s", e)
                await asyncio.sleep(1.0)
                self._dirty.set()

    async def stop(self) -> None:
        """Stop following; the network stays as it is."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.nodes.stop()


async def cleanup(local: LocalNode) -> None:
    """`--cleanup`: every backend's devices and routes, the nft table, the iptables rules."""
    for kind in (VXLAN, HOST_GW):
        with contextlib.suppress(Exception):
            await make_backend(kind, local).cleanup()
    await forwarding.remove(local.table, local.cluster_cidr)
