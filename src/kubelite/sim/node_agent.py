"""What a kubelet does for its Node: register it, renew its Lease, report its status.

One `NodeAgent` serves every simulated node; the per-node state is a small `SimNode`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from kubelite.client import AlreadyExists, ApiClient, Conflict, NotFound
from kubelite.sim.clock import micro_time, rfc3339, utcnow
from kubelite.sim.config import FIELD_MANAGER, NODE_LEASE_NAMESPACE, NodeShape, Timings
from kubelite.sim.network import PodIpPool
from kubelite.sim.node_shape import build_lease, build_node, node_conditions, node_status
from kubelite.sim.writer import Writer

log = logging.getLogger(__name__)


@dataclass
class SimNode:
    """One simulated node: its addresses, its pod IP pool, its cached Lease, paused or not."""

    name: str
    position: int  # 0-based order; picks the zone
    internal_ip: str
    pods: PodIpPool
    uid: str | None = None
    ready_since: str = ""  # lastTransitionTime of Ready=True
    lease: dict[str, Any] | None = None
    paused: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class NodeAgent:
    """Registration and heartbeats (Lease and node status) for simulated nodes."""

    def __init__(self, client: ApiClient, writer: Writer, shape: NodeShape,
                 timings: Timings) -> None:
        self.client = client
        self.writer = writer
        self.shape = shape
        self.timings = timings

    async def register(self, node: SimNode) -> None:
        """POST the Node (adopting it if it exists), then create its Lease."""
        now = rfc3339(utcnow())
        node.ready_since = node.ready_since or now
        body = build_node(node.name, node.position, node.internal_ip, self.shape, now)
        fresh = True
        try:
            created = await self.writer.call(lambda: self.client.create(
                "nodes", body, raw=True, field_manager=FIELD_MANAGER))
            if not (created.get("status") or {}).get("conditions"):
                await self.report_status(node, full=True)  # the server dropped status on create
        except AlreadyExists:
            fresh = False
            created = await self.writer.call(lambda: self.client.get("nodes", node.name, raw=True))
            await self.report_status(node, full=True)
        node.uid = (created.get("metadata") or {}).get("uid")
        self._adopt_pod_cidr(node, created)
        if fresh and node.lease is None:
            await self._create_lease(node, micro_time(utcnow()))
        else:
            await self.renew_lease(node)

    def _adopt_pod_cidr(self, node: SimNode, obj: dict[str, Any]) -> None:
        """Hand out pod IPs from spec.podCIDR once the control plane sets one (while the node
        has no pods yet, so no pod changes range)."""
        cidr = (obj.get("spec") or {}).get("podCIDR")
        if cidr and len(node.pods) == 0 and str(node.pods.network) != cidr:
            node.pods = PodIpPool(cidr)

    async def renew_lease(self, node: SimNode) -> None:
        """Set renewTime to now with an update of the cached Lease (as the kubelet does);
        fetch or create it when there is no usable cached copy."""
        now = micro_time(utcnow())
        lease = node.lease
        if lease is None:
            lease = await self._fetch_or_create_lease(node, now)
            if lease is None:
                return
        lease["spec"]["renewTime"] = now
        lease["spec"]["holderIdentity"] = node.name
        try:
            node.lease = await self.writer.call(
                lambda: self.client.update("leases", lease, raw=True))
        except (Conflict, NotFound):
            node.lease = None  # fetched afresh next time

    async def _fetch_or_create_lease(self, node: SimNode, now: str) -> dict[str, Any] | None:
        try:
            lease: dict[str, Any] = await self.writer.call(lambda: self.client.get(
                "leases", node.name, NODE_LEASE_NAMESPACE, raw=True))
            lease.setdefault("spec", {})
            return lease
        except NotFound:
            pass
        await self._create_lease(node, now)
        return None  # just created with renewTime now: nothing more to do this round

    async def _create_lease(self, node: SimNode, now: str) -> None:
        body = build_lease(node.name, node.uid, now, self.timings.lease_duration_seconds)
        try:
            node.lease = await self.writer.call(lambda: self.client.create(
                "leases", body, NODE_LEASE_NAMESPACE, raw=True, field_manager=FIELD_MANAGER))
        except AlreadyExists:
            node.lease = None  # a previous run's Lease: fetched and renewed next round

    async def report_status(self, node: SimNode, *, full: bool = False) -> None:
        """PATCH nodes/NAME/status: fresh lastHeartbeatTime on every condition (the whole
        status when `full`)."""
        now = rfc3339(utcnow())
        if full:
            status = node_status(node.name, node.internal_ip, self.shape, now, node.ready_since)
        else:
            status = {"conditions": node_conditions(now, node.ready_since)}
        updated = await self.writer.call(lambda: self.client.patch(
            "nodes", node.name, None, {"status": status}, patch_type="strategic",
            subresource="status", field_manager=FIELD_MANAGER, raw=True))
        if isinstance(updated, dict):
            self._adopt_pod_cidr(node, updated)  # the node IPAM controller may set it late

    async def catch_up(self, node: SimNode) -> None:
        """After a pause: if the control plane marked the node not Ready, Ready=True is a new
        transition; report status and renew the lease at once."""
        current = await self.writer.call(lambda: self.client.get("nodes", node.name, raw=True))
        for cond in (current.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "Ready" and cond.get("status") != "True":
                node.ready_since = rfc3339(utcnow())
        await self.report_status(node)
        await self.renew_lease(node)

    async def delete(self, node: SimNode) -> None:
        """Remove the Node and its Lease (a deleted Node's Lease would be garbage collected)."""
        await self._delete_quietly("leases", node.name, NODE_LEASE_NAMESPACE)
        await self._delete_quietly("nodes", node.name, None)

    async def _delete_quietly(self, kind: str, name: str, namespace: str | None) -> None:
        try:
            await self.writer.call(lambda: self.client.delete(kind, name, namespace))
        except NotFound:
            pass
