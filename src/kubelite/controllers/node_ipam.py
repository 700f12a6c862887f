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
    net = ipaddress.ip_network(cluster_cidr, strict=False)
    size = max(mask, net.prefixlen)
    for subnet in net.subnets(new_prefix=size):
        if str(subnet) not in used:
            return str(subnet)
    raise CIDRsExhausted(f"no pod CIDR left in {cluster_cidr} for another node")


class NodeIpamController(Controller):
    name = "node-ipam"

    def __init__(self, client: ApiClient, cluster_cidr: str = DEFAULT_CLUSTER_CIDR) -> None:
        super().__init__(client)
        self.cluster_cidr = str(ipaddress.ip_network(cluster_cidr, strict=False))
        self._assigned: dict[str, str] = {}  # written but maybe not in the cache yet

    def setup(self) -> None:
        self.nodes = self.informer("nodes", raw=True)
        self.nodes.on_add(lambda n: self.queue.add(n["metadata"]["name"]))
        self.nodes.on_update(lambda _o, n: self.queue.add(n["metadata"]["name"]))
        self.nodes.on_delete(lambda n: self._assigned.pop(n["metadata"]["name"], None))

    def _used(self, except_name: str) -> set[str]:
        used = {c for n, c in self._assigned.items() if n != except_name}
        for node in self.nodes.list():
            if node["metadata"]["name"] == except_name:
                continue
            spec: dict[str, Any] = node.get("spec") or {}
            if spec.get("podCIDR"):
                used.add(spec["podCIDR"])
            used.update(spec.get("podCIDRs") or [])
        return used

    async def reconcile(self, key: str) -> float | None:
        node = self.nodes.get(key)
        if node is None or (node.get("spec") or {}).get("podCIDR"):
            return None
        cidr = allocate(self.cluster_cidr, self._used(key))
        try:
            await self.client.patch("nodes", key, None,
                                    {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}}, raw=True)
        except NotFound:
            return None
        self._assigned[key] = cidr
        log.info("node %s: pod CIDR %s", key, cidr)
        return None
