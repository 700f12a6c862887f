"""SimCluster: many simulated kubelets in one process, for scale tests and benchmarks."""

from __future__ import annotations

import asyncio
import logging

from kubelite.client import AlreadyExists, ApiClient, ApiError
from kubelite.sim.config import NODE_LEASE_NAMESPACE, NodeShape, Timings, node_name
from kubelite.sim.network import PodIpPool, fake_pod_cidr, node_internal_ip
from kubelite.sim.node_agent import NodeAgent, SimNode
from kubelite.sim.pods import PodRunner
from kubelite.sim.ticker import SpreadTicker
from kubelite.sim.writer import Writer

log = logging.getLogger(__name__)


class SimCluster:
    """Registers `count` Nodes, keeps their Leases and status fresh, and runs their pods.

    `pause(name)` freezes one node as if its kubelet hung (no lease renewals, no status, its
    pods left alone) until `resume(name)`. `stop()` leaves the Nodes registered, as a stopped
    kubelet does, unless asked to delete them.
    """

    def __init__(self, client: ApiClient, count: int, *, cpu: str = "32",
                 memory: str = "256Gi", pods: int = 110, labels: dict[str, str] | None = None,
                 zones: int = 0, prefix: str = "sim-", ephemeral_storage: str = "100Gi",
                 timings: Timings | None = None, concurrency: int = 64,
                 first_number: int = 1) -> None:
        self.client = client
        self.shape = NodeShape(cpu=cpu, memory=memory, pods=pods, labels=dict(labels or {}),
                               zones=zones, prefix=prefix, ephemeral_storage=ephemeral_storage)
        self.timings = timings or Timings()
        self.writer = Writer(concurrency)
        self.agent = NodeAgent(client, self.writer, self.shape, self.timings)
        last = first_number + count - 1
        self.nodes: dict[str, SimNode] = {}
        for position, number in enumerate(range(first_number, last + 1)):
            name = node_name(prefix, number, last)
            self.nodes[name] = SimNode(
                name=name, position=position, internal_ip=node_internal_ip(number),
                pods=PodIpPool(fake_pod_cidr(number, pods)))
        self.pod_runner = PodRunner(client, self.writer, self.nodes, workers=concurrency)
        self._leases = SpreadTicker("lease renewal", self.timings.lease_renew_interval,
                                    self._active, self._renew_lease)
        self._status = SpreadTicker("node status", self.timings.node_status_interval,
                                    self._active, self._report_status)
        self._catch_ups: set[asyncio.Task[None]] = set()
        self.started = False

    @property
    def node_names(self) -> list[str]:
        return list(self.nodes)

    async def start(self) -> None:
        """Register every node (concurrently, bounded), then heartbeat and run pods."""
        await self._ensure_lease_namespace()
        results = await asyncio.gather(
            *(self.agent.register(n) for n in self.nodes.values()), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise RuntimeError(
                f"{len(failures)} of {len(self.nodes)} nodes failed to register: {failures[0]}"
            ) from failures[0]
        await self.pod_runner.start()
        self._leases.start()
        self._status.start()
        self.started = True

    async def stop(self, delete_nodes: bool = False) -> None:
        """Stop heartbeats and pod handling; with delete_nodes, remove the Nodes and Leases."""
        await self._leases.stop()
        await self._status.stop()
        for task in list(self._catch_ups):
            task.cancel()
        await asyncio.gather(*self._catch_ups, return_exceptions=True)
        await self.pod_runner.stop()
        if delete_nodes:
            await asyncio.gather(*(self.agent.delete(n) for n in self.nodes.values()),
                                 return_exceptions=True)
        self.started = False

    def pause(self, name: str) -> None:
        """Stop one node's heartbeats (Lease and status) and pod handling."""
        self._node(name).paused = True

    def resume(self, name: str) -> None:
        """Let a paused node heartbeat again; it reports at once and re-syncs its pods."""
        node = self._node(name)
        if not node.paused:
            return
        node.paused = False
        if self.started:
            task = asyncio.create_task(self._catch_up(node))
            self._catch_ups.add(task)
            task.add_done_callback(self._catch_ups.discard)

    def is_paused(self, name: str) -> bool:
        return self._node(name).paused

    # -- internals --------------------------------------------------------------------------

    def _node(self, name: str) -> SimNode:
        try:
            return self.nodes[name]
        except KeyError:
            raise KeyError(f'node "{name}" is not a simulated node of this cluster') from None

    def _active(self) -> list[str]:
        return [name for name, node in self.nodes.items() if not node.paused]

    async def _renew_lease(self, name: str) -> None:
        node = self.nodes[name]
        if not node.paused:
            await self.agent.renew_lease(node)

    async def _report_status(self, name: str) -> None:
        node = self.nodes[name]
        if not node.paused:
            await self.agent.report_status(node)

    async def _catch_up(self, node: SimNode) -> None:
        try:
            await self.agent.catch_up(node)
        except Exception as e:
            log.warning("node %s did not catch up after resuming: %s", node.name, e)
        self.pod_runner.resync(node.name)

    async def _ensure_lease_namespace(self) -> None:
        """kube-node-lease normally exists; create it when a bare API server lacks it."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NODE_LEASE_NAMESPACE}}
        try:
            await self.writer.call(lambda: self.client.create("namespaces", body, raw=True))
        except AlreadyExists:
            pass
        except ApiError as e:
            log.debug("cannot create namespace %s: %s", NODE_LEASE_NAMESPACE, e)
