"""ClusterIP and NodePort allocation for Services: an admission step with its state in the store.

Every allocated value is a store key of its own (`/kubelite/allocations/clusterips/10.96.0.7`,
`.../nodeports/30080`) created with the store's create-if-absent, so two API servers sharing a
store never hand out the same value, and allocations survive restarts. A key records which
Service (namespace, name, uid) holds the value.

A deleted Service's values are freed in the request that removes it (`after_delete`, the
object store's hook). A write can still fail after admission (a conflict, a dry run), and a
server can die between a delete and its release, so values are also checked against the
truth: a reservation whose Service no longer exists, has another uid, or no longer holds the
value, is stale and is taken over (after `grace` seconds, the window between admission and the
write). `repair()` sweeps all stale reservations at once.
"""

from __future__ import annotations

import ipaddress
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.api.types import core_v1
from kubelite.apiserver import objects
from kubelite.store.interface import KeyExistsError, KeyNotFoundError, RevisionConflictError, Store

ALLOCATIONS_PREFIX = "/kubelite/allocations/"
CLUSTER_IPS = ALLOCATIONS_PREFIX + "clusterips/"
NODE_PORTS = ALLOCATIONS_PREFIX + "nodeports/"
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_NODE_PORT_RANGE = "30000-32767"
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")

SERVICES = by_resource("", "v1", "services")

# Kubernetes' words (pkg/registry/core/service/...).
IP_TAKEN = "provided IP is already allocated"
IP_OUT_OF_RANGE = "the provided IP ({ip}) is not in the valid range. The range of valid IPs is {cidr}"
PORT_TAKEN = "provided port is already allocated"
PORT_OUT_OF_RANGE = ("provided port is not in the valid range. "
                     "The range of valid ports is {first}-{last}")
IP_RANGE_FULL = "failed to allocate a serviceIP: range is full"
PORT_RANGE_FULL = "failed to allocate a nodePort: range is full"


@dataclass(frozen=True)
class Owner:
    """The Service a reservation belongs to, and when it was made (epoch seconds)."""

    namespace: str
    name: str
    uid: str
    at: float

    def encode(self) -> bytes:
        return json.dumps({"namespace": self.namespace, "name": self.name, "uid": self.uid,
                           "at": self.at}).encode()

    @classmethod
    def decode(cls, data: bytes) -> Owner:
        d = json.loads(data)
        return cls(str(d.get("namespace", "")), str(d.get("name", "")), str(d.get("uid", "")),
                   float(d.get("at", 0)))


def parse_port_range(text: str) -> tuple[int, int]:
    """"30000-32767" -> (30000, 32767); a single number is a range of one."""
    first, _, last = text.partition("-")
    lo, hi = int(first), int(last or first)
    if not 0 < lo <= hi <= 65535:
        raise ValueError(f"invalid node port range {text!r}")
    return lo, hi


def needs_cluster_ip(spec: core_v1.ServiceSpec) -> bool:
    return spec.type != "ExternalName" and spec.cluster_ip != "None"


def needs_node_ports(spec: core_v1.ServiceSpec) -> bool:
    if spec.type == "NodePort":
        return True
    return spec.type == "LoadBalancer" and spec.allocate_load_balancer_node_ports is not False


def held_ips(svc: dict[str, Any]) -> set[str]:
    spec = svc.get("spec") or {}
    ips = set(spec.get("clusterIPs") or [])
    if spec.get("clusterIP"):
        ips.add(spec["clusterIP"])
    ips.discard("None")
    return ips


def held_node_ports(svc: dict[str, Any]) -> set[int]:
    spec = svc.get("spec") or {}
    ports = {int(p["nodePort"]) for p in spec.get("ports") or [] if p.get("nodePort")}
    if spec.get("healthCheckNodePort"):
        ports.add(int(spec["healthCheckNodePort"]))
    return ports


def needs_health_check_port(spec: core_v1.ServiceSpec) -> bool:
    """A LoadBalancer keeping client addresses gets a port for its nodes' health checks."""
    return spec.type == "LoadBalancer" and spec.external_traffic_policy == "Local"


class _Invalid(Exception):
    """One field error, turned into the Service's 422 by the caller."""

    def __init__(self, field: str, value: str, detail: str) -> None:
        super().__init__(detail)
        self.field, self.value, self.detail = field, value, detail


class ServiceAllocator:
    """Admission for Services: assigns, keeps and checks clusterIP(s) and nodePorts.

    Wire it as `ObjectStore(store, admission=[..., alloc], after_delete=[alloc.after_delete])`;
    it only acts on kind Service.
    """

    def __init__(self, store: Store, service_cidr: str = DEFAULT_SERVICE_CIDR,
                 node_port_range: str = DEFAULT_NODE_PORT_RANGE, *, grace: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.network = ipaddress.IPv4Network(service_cidr, strict=False)
        self.cidr = str(self.network)
        self.ports = parse_port_range(node_port_range)
        self.grace = grace
        self.clock = clock

    # -- admission ---------------------------------------------------------------------------

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if kind.kind != "Service" or kind.group:
            return
        svc: core_v1.Service = obj
        spec = svc.spec = svc.spec or core_v1.ServiceSpec()
        old_spec = old.spec if old is not None and old.spec is not None else None
        if old_spec is not None:
            _keep_allocated(spec, old_spec)
        meta = svc.metadata
        assert meta is not None
        owner = Owner(namespace, meta.name or "", meta.uid or "", self.clock())
        try:
            await self._admit_ips(spec, old_spec, owner)
            await self._admit_node_ports(spec, old_spec, owner)
            await self._admit_health_check_port(spec, old_spec, owner)
        except _Invalid as e:
            message = f'Service "{owner.name}" is invalid: {e.field}: Invalid value: {e.value}: {e.detail}'
            cause = {"reason": "FieldValueInvalid", "message": f"Invalid value: {e.value}: {e.detail}",
                     "field": e.field}
            raise st.Invalid(message, name=owner.name, kind="Service", causes=[cause]) from None

    async def _admit_ips(self, spec: core_v1.ServiceSpec, old: core_v1.ServiceSpec | None,
                         owner: Owner) -> None:
        if spec.type == "ExternalName":
            spec.cluster_ip = spec.cluster_ips = spec.ip_families = spec.ip_family_policy = None
            return
        spec.ip_families = spec.ip_families or ["IPv4"]
        spec.ip_family_policy = spec.ip_family_policy or "SingleStack"
        wanted = spec.cluster_ip or (spec.cluster_ips[0] if spec.cluster_ips else "")
        if wanted == "None":
            spec.cluster_ip, spec.cluster_ips = "None", ["None"]
            return
        had = old.cluster_ip if old is not None and old.cluster_ip not in (None, "", "None") else ""
        if wanted and wanted == had:
            spec.cluster_ip, spec.cluster_ips = wanted, [wanted]
            return
        ip = await (self._claim_ip(wanted, owner) if wanted else self._next_ip(owner))
        spec.cluster_ip, spec.cluster_ips = ip, [ip]

    async def _admit_node_ports(self, spec: core_v1.ServiceSpec,
                                old: core_v1.ServiceSpec | None, owner: Owner) -> None:
        if not needs_node_ports(spec):
            return
        had = {p.node_port for p in (old.ports or []) if p.node_port} if old is not None else set()
        by_number: dict[int, int] = {}  # service port number -> node port (TCP and UDP share one)
        for i, port in enumerate(spec.ports or []):
            if port.node_port:
                if port.node_port not in had and port.node_port not in by_number.values():
                    await self._claim_port(port.node_port, f"spec.ports[{i}].nodePort", owner)
                    had.add(port.node_port)
                by_number.setdefault(port.port, port.node_port)
        for port in spec.ports or []:
            if not port.node_port:
                port.node_port = by_number.get(port.port) or await self._next_port(owner)
                by_number.setdefault(port.port, port.node_port)

    async def _admit_health_check_port(self, spec: core_v1.ServiceSpec,
                                       old: core_v1.ServiceSpec | None, owner: Owner) -> None:
        if not needs_health_check_port(spec):
            return
        had = old.health_check_node_port if old is not None else None
        if not spec.health_check_node_port and had:
            spec.health_check_node_port = had
        elif spec.health_check_node_port and spec.health_check_node_port != had:
            await self._claim_port(spec.health_check_node_port, "spec.healthCheckNodePort", owner)
        elif not spec.health_check_node_port:
            spec.health_check_node_port = await self._next_port(owner)

    # -- cluster IPs -------------------------------------------------------------------------

    async def _claim_ip(self, ip: str, owner: Owner) -> str:
        shown = f'[]string{{"{ip}"}}'
        try:
            addr = ipaddress.IPv4Address(ip)
        except ValueError:
            raise _Invalid("spec.clusterIPs", shown, f"failed to allocate IP {ip}: "
                           + IP_OUT_OF_RANGE.format(ip=ip, cidr=self.cidr)) from None
        if addr not in self.network or addr in (self.network.network_address,
                                                self.network.broadcast_address):
            raise _Invalid("spec.clusterIPs", shown, f"failed to allocate IP {ip}: "
                           + IP_OUT_OF_RANGE.format(ip=ip, cidr=self.cidr))
        if not await self._reserve(CLUSTER_IPS + str(addr), owner):
            raise _Invalid("spec.clusterIPs", shown, f"failed to allocate IP {ip}: {IP_TAKEN}")
        return str(addr)

    async def _next_ip(self, owner: Owner) -> str:
        """A free IP, from the upper band first (the lower band is for static choices, KEP-3070)."""
        size = self.network.num_addresses - 2  # neither the network nor the broadcast address
        if size <= 0:
            raise st.InternalError(f"Internal error occurred: {IP_RANGE_FULL}")
        static = min(max(16, size // 16), 256) if size > 16 else 0
        taken = {key.rsplit("/", 1)[1] for key in await self._keys(CLUSTER_IPS)}
        base = int(self.network.network_address) + 1
        for band in (range(static, size), range(0, static)):
            for offset in _shuffled(band, len(taken)):
                ip = str(ipaddress.IPv4Address(base + offset))
                if ip in taken and not await self._stale(CLUSTER_IPS + ip):
                    continue
                if await self._reserve(CLUSTER_IPS + ip, owner):
                    return ip
        raise st.InternalError(f"Internal error occurred: {IP_RANGE_FULL}")

    # -- node ports --------------------------------------------------------------------------

    async def _claim_port(self, port: int, field: str, owner: Owner) -> None:
        first, last = self.ports
        if not first <= port <= last:
            raise _Invalid(field, str(port), PORT_OUT_OF_RANGE.format(first=first, last=last))
        if not await self._reserve(f"{NODE_PORTS}{port}", owner):
            raise _Invalid(field, str(port), PORT_TAKEN)

    async def _next_port(self, owner: Owner) -> int:
        first, last = self.ports
        taken = {int(key.rsplit("/", 1)[1]) for key in await self._keys(NODE_PORTS)}
        for port in _shuffled(range(first, last + 1), len(taken)):
            if port in taken and not await self._stale(f"{NODE_PORTS}{port}"):
                continue
            if await self._reserve(f"{NODE_PORTS}{port}", owner):
                return port
        raise st.InternalError(f"Internal error occurred: {PORT_RANGE_FULL}")

    # -- reservations ------------------------------------------------------------------------

    async def _keys(self, prefix: str) -> list[str]:
        return [kv.key for kv in (await self.store.list(prefix)).items]

    async def _reserve(self, key: str, owner: Owner) -> bool:
        """Create the reservation, or take over a stale one; False when someone holds it."""
        try:
            await self.store.create(key, owner.encode())
            return True
        except KeyExistsError:
            pass
        kv = await self.store.get(key)
        if kv is None:
            return await self._reserve(key, owner)
        if not await self._is_stale(key, kv.value):
            return False
        try:
            await self.store.update(key, owner.encode(), kv.mod_revision)
        except (RevisionConflictError, KeyNotFoundError):
            return False
        return True

    async def _stale(self, key: str) -> bool:
        kv = await self.store.get(key)
        return kv is None or await self._is_stale(key, kv.value)

    async def _is_stale(self, key: str, value: bytes) -> bool:
        """Whether the Service a reservation names no longer holds its value."""
        try:
            owner = Owner.decode(value)
        except (ValueError, TypeError):
            return True
        if self.clock() - owner.at < self.grace:
            return False  # its Service may still be on its way to the store
        assert SERVICES is not None
        kv = await self.store.get(objects.object_key(SERVICES, owner.namespace, owner.name))
        if kv is None:
            return True
        svc = objects.decode(kv.value)
        if (svc.get("metadata") or {}).get("uid") != owner.uid:
            return True
        value_text = key.rsplit("/", 1)[1]
        if key.startswith(CLUSTER_IPS):
            return value_text not in held_ips(svc)
        return int(value_text) not in held_node_ports(svc)

    async def release(self, namespace: str, name: str, uid: str) -> int:
        """Free every value reserved for the Service namespace/name with this uid; call once
        it is gone from the store (a Service re-created under the name has another uid)."""
        freed = 0
        for prefix in (CLUSTER_IPS, NODE_PORTS):
            for kv in (await self.store.list(prefix)).items:
                try:
                    owner = Owner.decode(kv.value)
                except (ValueError, TypeError):
                    continue
                if (owner.namespace, owner.name, owner.uid) == (namespace, name, uid):
                    freed += await self._drop(kv.key, kv.mod_revision)
        return freed

    async def after_delete(self, kind: Kind, last: dict[str, Any]) -> None:
        """The object store's after-delete hook: a removed Service's cluster IPs and node
        ports are free in the same request, as the Service REST storage's Delete does."""
        if kind != SERVICES:
            return
        meta = last.get("metadata") or {}
        await self.release(meta.get("namespace", ""), meta.get("name", ""), meta.get("uid", ""))

    async def repair(self) -> int:
        """Drop every stale reservation (as kube-apiserver's repair loops do); returns how many."""
        freed = 0
        for prefix in (CLUSTER_IPS, NODE_PORTS):
            for kv in (await self.store.list(prefix)).items:
                if await self._is_stale(kv.key, kv.value):
                    freed += await self._drop(kv.key, kv.mod_revision)
        return freed

    async def _drop(self, key: str, revision: int) -> int:
        try:
            await self.store.delete(key, revision)
        except (KeyNotFoundError, RevisionConflictError):
            return 0
        return 1


def _keep_allocated(spec: core_v1.ServiceSpec, old: core_v1.ServiceSpec) -> None:
    """An update that leaves allocated values out keeps the old ones (patchAllocatedValues)."""
    if needs_cluster_ip(spec) and not spec.cluster_ip and not spec.cluster_ips and old.cluster_ip:
        spec.cluster_ip, spec.cluster_ips = old.cluster_ip, list(old.cluster_ips or [old.cluster_ip])
        spec.ip_families = spec.ip_families or old.ip_families
        spec.ip_family_policy = spec.ip_family_policy or old.ip_family_policy
    if needs_node_ports(spec):
        old_ports = {(p.port, p.protocol): p.node_port for p in old.ports or [] if p.node_port}
        for port in spec.ports or []:
            if not port.node_port:
                port.node_port = old_ports.get((port.port, port.protocol))


def _shuffled(band: range, taken: int) -> Iterator[int]:
    """The band's values in random order; for a large, mostly free band, random picks first."""
    if len(band) > 4096 and taken < len(band) // 2:
        for _ in range(64):
            yield random.choice(band)
        start = random.randrange(len(band))
        yield from band[start:]
        yield from band[:start]
        return
    values = list(band)
    random.shuffle(values)
    yield from values
