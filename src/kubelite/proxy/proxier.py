"""The per-node service proxy: Services and EndpointSlices in, one nftables table out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from kubelite.client import ApiClient, Informer
from kubelite.client.informer import InformerView
from kubelite.proxy import nft
from kubelite.proxy.model import ServicePort, cluster_model
from kubelite.proxy.ruleset import Ruleset, Scope, render, transaction

log = logging.getLogger(__name__)


class ServiceProxy:
    """kube-proxy's job for one node, in nftables mode.

    Watches Services and EndpointSlices; after any change (batched for `batch_delay`
    seconds) renders the table and, if it differs, replaces it in one `nft -f -` transaction.
    `table` must be unique per cluster on this machine. With `service_cidr` and `route_device`
    (the pod bridge), a route to the service CIDR via the bridge lets the node itself reach
    ClusterIPs; pods reach them through their default route to the bridge. The rules match
    only this cluster's traffic: ClusterIPs from `route_device` or to `service_cidr`, NodePorts
    on `node_ips` (empty: every local address, 127.0.0.1 included, as kube-proxy's
    `--nodeport-addresses` default). A NodePort on 127.0.0.1 leaves the node with a loopback
    source until it is masqueraded, which the kernel allows only with `route_localnet` on the
    outgoing device: it is set on `route_device` and on `localnet_devices` (kube-proxy sets it
    on every device; the table drops other traffic to 127.0.0.0/8 from outside, as kube-proxy's
    firewall rule does). `node_name` makes this node's endpoints the local ones of the
    traffic policies Local. Like kube-proxy, `stop()` leaves the table and route in place (Services keep
    working while the agent restarts); `nft.delete_table` (`kubelite agent --cleanup`) removes
    them.
    """

    def __init__(self, client: ApiClient, table: str, *, service_cidr: str | None = None,
                 route_device: str | None = None, cluster_cidr: str | None = None,
                 node_ips: tuple[str, ...] = (), node_name: str = "",
                 localnet_devices: tuple[str, ...] = (), masquerade_all: bool = False,
                 batch_delay: float = 0.02, services: Informer | None = None) -> None:
        self.client = client
        self.table = table
        self.service_cidr = service_cidr
        self.route_device = route_device
        self.cluster_cidr = cluster_cidr
        self.masquerade_all = masquerade_all
        self.scope = Scope(pod_interface=route_device or "", service_cidr=service_cidr or "",
                           node_ips=tuple(ip for ip in node_ips if ip), node_name=node_name)
        self.localnet_devices = tuple(d for d in (route_device, *localnet_devices) if d)
        self.batch_delay = batch_delay
        # A view of the caller's Services informer (shared with the kubelet), or one of its own.
        self.services = InformerView(services) if services else Informer(client, "services", raw=True)
        self.slices = Informer(client, "endpointslices", raw=True)
        self.applied: Ruleset | None = None
        self.syncs = 0
        self.last_sync = 0.0  # time.monotonic() of the last applied change
        self._changed = asyncio.Event()
        self._synced = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._route_added = False
        for informer in (self.services, self.slices):
            informer.on_add(self._mark)
            informer.on_update(self._mark)
            informer.on_delete(self._mark)

    def _mark(self, *_: Any) -> None:
        self._changed.set()

    async def start(self) -> None:
        """Start watching, program the first ruleset, then keep it in step."""
        self._tasks += [self.services.start(), self.slices.start()]
        await self.services.has_synced()
        await self.slices.has_synced()
        await self._ensure_route()
        if self.scope.loopback_node_ports:
            for device in self.localnet_devices:
                route_localnet(device)
        await self.sync()
        self._tasks.append(asyncio.create_task(self._loop(), name=f"proxy-{self.table}"))

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def model(self) -> list[ServicePort]:
        return cluster_model(self.services.list(), self.slices.list())

    async def sync(self) -> bool:
        """Render and apply the ruleset now; True when nft was run."""
        self._changed.clear()
        ruleset = render(self.table, self.model(), cluster_cidr=self.cluster_cidr,
                         masquerade_all=self.masquerade_all, scope=self.scope)
        if self.applied is not None and ruleset == self.applied:
            return False
        await nft.run_nft(transaction(ruleset, self.applied))
        self.applied = ruleset
        self.syncs += 1
        self.last_sync = time.monotonic()
        self._synced.set()
        return True

    async def _loop(self) -> None:
        await nft.sync_loop(self._changed, self.batch_delay, self.sync, self._sync_failed)

    def _sync_failed(self, e: Exception) -> None:
        log.warning("service proxy: syncing table %s failed: %s", self.table, e)
        self.applied = None  # the next attempt recreates the table from scratch

    async def _ensure_route(self) -> None:
        if not (self.service_cidr and self.route_device):
            return
        await _ip("route", "replace", self.service_cidr, "dev", self.route_device)
        self._route_added = True

    async def stop(self) -> None:
        """Stop watching; the table and the route stay (kube-proxy leaves its rules too)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.services.stop()
        await self.slices.stop()


def route_localnet(device: str) -> None:
    """Let packets with a loopback address leave (and their replies enter) through `device`."""
    path = f"/proc/sys/net/ipv4/conf/{device}/route_localnet"
    try:
        with open(path, "w") as f:
            f.write("1")
    except OSError as e:
        log.warning("service proxy: NodePorts on 127.0.0.1 will not work: %s: %s", path, e)


async def _ip(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec("ip", *args, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise OSError(f"ip {' '.join(args)}: {err.decode(errors='replace').strip()}")
