"""node-ipam: hands each Node a `spec.podCIDR` (a /24) out of the cluster CIDR.

As kube-controller-manager's range allocator: a node keeps the range it has; a new node gets
the lowest free one; ranges of deleted nodes are free again. The kubelet waits for it and
builds its pod network on it.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from kubelite.client import ApiClient, NotFound
from kubelite.controllers.base import Controller

log = logging.getLogger(__name__)

DEFAULT_CLUSTER_CIDR = "10.42.0.0/16"
NODE_MASK = 24


class CIDRsExhausted(Exception):
    pass


def allocate(cluster_cidr: str, used: set[str], mask: int = NODE_MASK) -> str:
    """The lowest /mask subnet of cluster_cidr that is not in `used`."""
    ranges = RangeAllocator(cluster_cidr, mask)
    for cidr in used:
        ranges.occupy(cidr)
    return ranges.take()


class RangeAllocator:
    """The node-sized subnets of a cluster CIDR, as integers: O(1) to occupy or free one,
    and the lowest free one is found from a cursor rather than by walking every subnet."""

    def __init__(self, cluster_cidr: str, mask: int = NODE_MASK) -> None:
        net = ipaddress.ip_network(cluster_cidr, strict=False)
        self.cluster_cidr = str(net)
        self.prefix = max(mask, net.prefixlen)
        self.base = int(net.network_address)
        self.step = 1 << (net.max_prefixlen - self.prefix)
        self.count = 1 << (self.prefix - net.prefixlen)
        self.used: set[int] = set()
        self._cursor = 0  # no free subnet below this index

    def _index(self, cidr: str) -> int | None:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        offset = int(net.network_address) - self.base
        if net.prefixlen != self.prefix or offset < 0 or offset % self.step or offset // self.step >= self.count:
            return None
        return offset // self.step

    def occupy(self, cidr: str) -> None:
        index = self._index(cidr)
        if index is not None:
            self.used.add(index)

    def release(self, cidr: str) -> None:
        index = self._index(cidr)
        if index is not None and index in self.used:
            self.used.discard(index)
            self._cursor = min(self._cursor, index)

    def take(self) -> str:
        while self._cursor < self.count and self._cursor in self.used:
            self._cursor += 1
        if self._cursor >= self.count:
            raise CIDRsExhausted(f"no pod CIDR left in {self.cluster_cidr} for another node")
        index = self._cursor
        self.used.add(index)
        return f"{ipaddress.ip_address(self.base + index * self.step)}/{self.prefix}"


EXHAUSTED_RETRY = 30.0  # seconds before a node that found no free range tries again


class NodeIpamController(Controller):
    name = "node-ipam"

    def __init__(self, client: ApiClient, cluster_cidr: str = DEFAULT_CLUSTER_CIDR) -> None:
        super().__init__(client)
        self.cluster_cidr = str(ipaddress.ip_network(cluster_cidr, strict=False))
        self.ranges = RangeAllocator(self.cluster_cidr)
        self._by_node: dict[str, str] = {}  # node -> its range (written or seen)

    def setup(self) -> None:
        self.nodes = self.informer("nodes", raw=True)
        self.nodes.on_add(self._seen)
        self.nodes.on_update(lambda _old, n: self._seen(n))
        self.nodes.on_delete(self._gone)

    def _seen(self, node: dict[str, Any]) -> None:
        name = node["metadata"]["name"]
        cidr = (node.get("spec") or {}).get("podCIDR")
        if cidr:
            if self._by_node.get(name) not in (None, cidr):
                self.ranges.release(self._by_node[name])
            self._by_node[name] = cidr
            self.ranges.occupy(cidr)
        else:
            self.queue.add(name)

    def _gone(self, node: dict[str, Any]) -> None:
        cidr = self._by_node.pop(node["metadata"]["name"], None)
        if cidr:
            self.ranges.release(cidr)

    async def reconcile(self, key: str) -> float | None:
        node = self.nodes.get(key)
        if node is None or (node.get("spec") or {}).get("podCIDR") or key in self._by_node:
            return None
        try:
            cidr = self.ranges.take()
        except CIDRsExhausted as e:
            log.warning("node %s: %s (CIDRNotAvailable); widen --cluster-cidr", key, e)
            return EXHAUSTED_RETRY
        try:
            await self.client.patch("nodes", key, None,
                                    {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}, raw=True)
        except NotFound:
            self.ranges.release(cidr)
            return None
        except Exception:
            self.ranges.release(cidr)
            raise
        self._by_node[key] = cidr
        log.info("node %s: pod CIDR %s", key, cidr)
        return None
