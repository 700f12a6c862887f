"""The scheduler's view of nodes and the pods on them.

NodeInfo aggregates what a node offers (allocatable) and what its pods ask for (requested,
host ports, images). Pods enter in two ways: confirmed, when the assigned-pods informer sees
them, or *assumed*, the moment the scheduler picks a node and before the binding is written,
so the next cycle already counts them. An assumed pod the watch never confirms expires.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec

from kubelite.api.types import core_v1, meta_v1, storage_v1
from kubelite.scheduler import _quantity
from kubelite.scheduler.node_arrays import NodeArrays
from kubelite.scheduler.spread_index import SpreadIndex

DEFAULT_MILLI_CPU_REQUEST = 100  # what "non-zero" scoring assumes for a container without one
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
DEFAULT_ASSUMED_POD_TTL = 30.0


@dataclass
class Resources:
    """cpu in millicores; memory and ephemeral-storage in bytes; other (extended) by name."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    allowed_pods: int = 0
    scalar: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_list(cls, values: Mapping[str, Any] | None) -> Resources:
        r = cls()
        for name, q in (values or {}).items():
            r._set(name, q)
        return r

    def _set(self, name: str, q: Any) -> None:
        if name == "cpu":
            self.milli_cpu = _quantity.milli_value(q)
        elif name == "memory":
            self.memory = _quantity.int_value(q)
        elif name == "ephemeral-storage":
            self.ephemeral_storage = _quantity.int_value(q)
        elif name == "pods":
            self.allowed_pods = _quantity.int_value(q)
        else:
            self.scalar[name] = _quantity.int_value(q)

    def add(self, other: Resources, sign: int = 1) -> None:
        self.milli_cpu += sign * other.milli_cpu
        self.memory += sign * other.memory
        self.ephemeral_storage += sign * other.ephemeral_storage
        for k, v in other.scalar.items():
            self.scalar[k] = self.scalar.get(k, 0) + sign * v

    def set_max(self, other: Resources) -> None:
        self.milli_cpu = max(self.milli_cpu, other.milli_cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral_storage = max(self.ephemeral_storage, other.ephemeral_storage)
        for k, v in other.scalar.items():
            self.scalar[k] = max(self.scalar.get(k, 0), v)

    def is_zero(self) -> bool:
        return not (self.milli_cpu or self.memory or self.ephemeral_storage
                    or any(self.scalar.values()))


def _container_requests(c: core_v1.Container, non_zero: bool) -> Resources:
    r = Resources.from_list(c.resources.requests if c.resources else None)
    if non_zero:
        requests = (c.resources.requests if c.resources else None) or {}
        if "cpu" not in requests:
            r.milli_cpu = DEFAULT_MILLI_CPU_REQUEST
        if "memory" not in requests:
            r.memory = DEFAULT_MEMORY_REQUEST
    return r


def pod_requests(pod: core_v1.Pod, non_zero: bool = False) -> Resources:
    """What the pod asks of a node: containers summed, each init container as a floor.

    Init containers run one after another, so the pod needs the larger of the sum of its
    containers and any single init container (sidecars, restartPolicy Always, keep running
    and add up). Pod overhead is added. `non_zero` substitutes 100m cpu / 200Mi memory for
    missing requests, as the scoring plugins do.
    """
    spec = pod.spec
    total = Resources()
    if spec is None:
        return total
    for c in spec.containers:
        total.add(_container_requests(c, non_zero))
    sidecars = Resources()
    for c in spec.init_containers or []:
        req = _container_requests(c, non_zero)
        if c.restart_policy == "Always":
            sidecars.add(req)
            total.add(req)
        else:
            floor = Resources()
            floor.add(sidecars)
            floor.add(req)
            total.set_max(floor)
    if spec.overhead:
        total.add(Resources.from_list(spec.overhead))
    return total


def pod_key(pod: core_v1.Pod) -> str:
    meta = pod.metadata
    return f"{meta.namespace}/{meta.name}" if meta else ""


def pod_host_ports(pod: core_v1.Pod) -> list[tuple[str, str, int]]:
    """(hostIP, protocol, hostPort) for every container port that asks for a host port."""
    ports = []
    for c in (pod.spec.containers if pod.spec else []):
        for p in c.ports or []:
            if p.host_port:
                ports.append((p.host_ip or "0.0.0.0", p.protocol or "TCP", p.host_port))
    return ports


def has_pod_affinity(pod: core_v1.Pod) -> bool:
    """Does the pod carry any pod affinity or anti-affinity term (required or preferred)?"""
    affinity = pod.spec.affinity if pod.spec else None
    return affinity is not None and (affinity.pod_affinity is not None
                                     or affinity.pod_anti_affinity is not None)


def normalize_image(name: str) -> str:
    """Docker reference normalisation: "nginx" -> "docker.io/library/nginx:latest"."""
    if "@" not in name:
        last = name.rsplit("/", 1)[-1]
        if ":" not in last:
            name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name or ("." not in first and ":" not in first and first != "localhost"):
        name = ("docker.io/" + name) if "/" in name else ("docker.io/library/" + name)
    elif name.startswith("docker.io/") and name.count("/") == 1:
        name = "docker.io/library/" + name[len("docker.io/"):]
    return name


class NodeInfo:
    """One node and what is (or is assumed to be) running on it."""

    def __init__(self, node: core_v1.Node) -> None:
        self.pods: dict[str, core_v1.Pod] = {}
        self.requested = Resources()
        self.non_zero_requested = Resources()
        self.used_ports: dict[tuple[str, str, int], int] = {}
        self.affinity_pods: dict[str, core_v1.Pod] = {}  # pods with any pod (anti-)affinity term
        self.set_node(node)

    def set_node(self, node: core_v1.Node) -> None:
        self.node = node
        self.name: str = (node.metadata.name if node.metadata else None) or ""
        self.labels: dict[str, str] = (node.metadata.labels if node.metadata else None) or {}
        status = node.status or core_v1.NodeStatus()
        self.allocatable = Resources.from_list(status.allocatable)
        self.images: dict[str, int] = {}
        for image in status.images or []:
            for n in image.names or []:
                self.images[normalize_image(n)] = image.size_bytes or 0
        spec = node.spec or core_v1.NodeSpec()
        self.unschedulable = bool(spec.unschedulable)
        self.taints: list[core_v1.Taint] = list(spec.taints or [])
        self.filter_taints = [t for t in self.taints if t.effect in ("NoSchedule", "NoExecute")]
        self.prefer_taints = [t for t in self.taints if t.effect == "PreferNoSchedule"]

    def add_pod(self, pod: core_v1.Pod) -> None:
        key = pod_key(pod)
        if key in self.pods:
            self.remove_pod(key)
        self.pods[key] = pod
        self.requested.add(pod_requests(pod))
        self.non_zero_requested.add(pod_requests(pod, non_zero=True))
        for port in pod_host_ports(pod):
            self.used_ports[port] = self.used_ports.get(port, 0) + 1
        if has_pod_affinity(pod):
            self.affinity_pods[key] = pod

    def remove_pod(self, key: str) -> None:
        pod = self.pods.pop(key, None)
        if pod is None:
            return
        self.requested.add(pod_requests(pod), -1)
        self.non_zero_requested.add(pod_requests(pod, non_zero=True), -1)
        self.affinity_pods.pop(key, None)
        for port in pod_host_ports(pod):
            left = self.used_ports.get(port, 0) - 1
            if left > 0:
                self.used_ports[port] = left
            else:
                self.used_ports.pop(port, None)

    def port_in_use(self, host_ip: str, protocol: str, port: int) -> bool:
        """0.0.0.0 conflicts with every address, as in Kubernetes' HostPortInfo."""
        for ip, proto, p in self.used_ports:
            if p == port and proto == protocol and (
                    ip == host_ip or "0.0.0.0" in (ip, host_ip)):
                return True
        return False


class Lookup(Protocol):
    """Anything that finds an object by key: a dict, or an Informer's cache."""

    def get(self, key: str) -> Any: ...


class Snapshot:
    """What one scheduling cycle sees: every node plus the objects some plugins consult.

    Built by SchedulerCache.snapshot() it shares the cache's incremental indexes (image
    spread, pods with affinity terms, spread counts), so taking one costs nothing per node;
    built from a bare node list (tests, explain) it computes them on first use.
    """

    def __init__(self, nodes: list[NodeInfo], services: list[core_v1.Service] | None = None,
                 replica_sets: list[Any] | None = None,
                 namespace_labels: dict[str, dict[str, str]] | None = None, *,
                 claims: Lookup | None = None, volumes: Lookup | None = None,
                 storage_classes: dict[str, storage_v1.StorageClass] | None = None,
                 cache: SchedulerCache | None = None) -> None:
        self.nodes = nodes
        self.services = services or []
        self.replica_sets = replica_sets or []
        self.namespace_labels = namespace_labels or {}
        self.claims: Lookup = claims if claims is not None else {}  # "ns/name" -> PVC
        self.volumes: Lookup = volumes if volumes is not None else {}  # name -> PV
        self.storage_classes = storage_classes or {}
        self._cache = cache
        self.by_name: dict[str, NodeInfo] = cache.nodes if cache else {n.name: n for n in nodes}
        self._spread = cache.spread if cache else SpreadIndex()
        self._image_nodes: dict[str, int] | None = cache.image_nodes if cache else None
        self._arrays: NodeArrays | None = None

    @property
    def arrays(self) -> NodeArrays:
        """The nodes' numbers as arrays, row i = nodes[i] (the cache's, kept up to date)."""
        if self._arrays is None:
            shared = self._cache.arrays() if self._cache is not None else None
            if shared is None or shared.nodes is not self.nodes:
                shared = NodeArrays(self.nodes)
            self._arrays = shared
        return self._arrays

    def get(self, name: str) -> NodeInfo | None:
        return self.by_name.get(name)

    @property
    def image_nodes(self) -> dict[str, int]:
        """image -> how many nodes hold it."""
        if self._image_nodes is None:
            self._image_nodes = {}
            for n in self.nodes:
                for image in n.images:
                    self._image_nodes[image] = self._image_nodes.get(image, 0) + 1
        return self._image_nodes

    def affinity_pods(self) -> Iterable[tuple[NodeInfo, core_v1.Pod]]:
        """(node, pod) for every pod that has a pod affinity or anti-affinity term."""
        holders = self._cache.affinity_nodes if self._cache else None
        nodes = self.nodes if holders is None else [self.by_name[n] for n in holders
                                                      if n in self.by_name]
        for node in nodes:
            for pod in node.affinity_pods.values():
                yield node, pod

    def spread_counts(self, namespace: str, selector: meta_v1.LabelSelector,
                      key: str) -> dict[str, int]:
        """domain of `key` -> pods in `namespace` matching `selector`, over every node."""
        return self._spread.counts(namespace, selector, key, self.nodes)

    def nodes_with_label(self, key: str) -> int:
        if self._cache is not None:
            return self._cache.label_keys.get(key, 0)
        return sum(1 for n in self.nodes if key in n.labels)


@dataclass
class _PodState:
    pod: core_v1.Pod
    node: str
    assumed: bool
    deadline: float | None = None  # set when binding finished; None = no expiry yet


class SchedulerCache:
    """Nodes and assigned pods, fed by informers and by the scheduler's own assumptions.

    Besides the NodeInfos it keeps, incrementally, what would otherwise cost a walk over every
    node or pod per cycle: the node list, how many nodes hold each image and carry each label
    key, which nodes run pods with affinity terms, and spread counts (spread_index.py).
    """

    def __init__(self, assumed_ttl: float = DEFAULT_ASSUMED_POD_TTL) -> None:
        self.assumed_ttl = assumed_ttl
        self.nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, _PodState] = {}
        # Pods seen on nodes the cache does not know yet; attached when the node arrives.
        self._orphans: dict[str, dict[str, core_v1.Pod]] = {}
        self._node_list: list[NodeInfo] | None = None
        self._arrays: NodeArrays | None = None
        self.image_nodes: dict[str, int] = {}
        self.label_keys: dict[str, int] = {}
        self.affinity_nodes: dict[str, int] = {}  # node -> pods with affinity terms on it
        self.spread = SpreadIndex()

    # -- nodes ------------------------------------------------------------------------------

    def _count_node(self, info: NodeInfo, sign: int) -> None:
        for image in info.images:
            self._bump(self.image_nodes, image, sign)
        for key in info.labels:
            self._bump(self.label_keys, key, sign)

    @staticmethod
    def _bump(counts: dict[str, int], key: str, sign: int) -> None:
        left = counts.get(key, 0) + sign
        if left > 0:
            counts[key] = left
        else:
            counts.pop(key, None)

    def add_node(self, node: core_v1.Node) -> NodeInfo:
        name = (node.metadata.name if node.metadata else None) or ""
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(node)
            self._node_list = None
            self._arrays = None
            for key, pod in self._orphans.pop(info.name, {}).items():
                info.add_pod(pod)
                self._track_affinity(info, key, pod, 1)
            self._count_node(info, 1)
            self.spread.node_added(info)
        else:
            old_labels = info.labels
            self._count_node(info, -1)
            info.set_node(node)
            self._count_node(info, 1)
            if old_labels != info.labels:
                self.spread.invalidate()
            if self._arrays is not None:
                self._arrays.node_changed(info, old_labels != info.labels)
        return info

    update_node = add_node

    def remove_node(self, name: str) -> None:
        info = self.nodes.pop(name, None)
        if info is None:
            return
        self._node_list = None
        self._arrays = None
        self._count_node(info, -1)
        self.affinity_nodes.pop(name, None)
        self.spread.invalidate()
        if info.pods:
            self._orphans[name] = dict(info.pods)

    # -- pods -------------------------------------------------------------------------------

    def _track_affinity(self, info: NodeInfo, key: str, pod: core_v1.Pod, sign: int) -> None:
        if has_pod_affinity(pod):
            self._bump(self.affinity_nodes, info.name, sign)

    def _place(self, key: str, pod: core_v1.Pod, node: str) -> None:
        info = self.nodes.get(node)
        if info is not None:
            info.add_pod(pod)
            self._track_affinity(info, key, pod, 1)
            self.spread.pod_placed(pod, info)
            if self._arrays is not None:
                self._arrays.pods_changed(info)
        else:
            self._orphans.setdefault(node, {})[key] = pod

    def _unplace(self, key: str, node: str) -> None:
        info = self.nodes.get(node)
        if info is not None:
            pod = info.pods.get(key)
            if pod is not None:
                info.remove_pod(key)
                self._track_affinity(info, key, pod, -1)
                self.spread.pod_placed(pod, info, -1)
                if self._arrays is not None:
                    self._arrays.pods_changed(info)
        self._orphans.get(node, {}).pop(key, None)

    def add_pod(self, pod: core_v1.Pod) -> None:
        """A pod the API server says is bound (confirms an assumed one)."""
        key = pod_key(pod)
        node = (pod.spec.node_name if pod.spec else None) or ""
        old = self._pods.get(key)
        if old is not None:
            self._unplace(key, old.node)
        self._pods[key] = _PodState(pod, node, assumed=False)
        self._place(key, pod, node)

    update_pod = add_pod

    def remove_pod(self, pod: core_v1.Pod) -> None:
        key = pod_key(pod)
        old = self._pods.pop(key, None)
        if old is not None:
            self._unplace(key, old.node)

    def assume_pod(self, pod: core_v1.Pod, node: str) -> core_v1.Pod:
        """Count pod on node now, before its binding is written; returns the assumed copy."""
        spec = msgspec.structs.replace(pod.spec, node_name=node) if pod.spec else None
        assumed = msgspec.structs.replace(pod, spec=spec)
        key = pod_key(pod)
        if key in self._pods:
            self._unplace(key, self._pods[key].node)
        self._pods[key] = _PodState(assumed, node, assumed=True)
        self._place(key, assumed, node)
        return assumed

    def finish_binding(self, pod: core_v1.Pod, now: float | None = None) -> None:
        """The binding was written; start the clock for the watch to confirm it."""
        state = self._pods.get(pod_key(pod))
        if state is not None and state.assumed:
            state.deadline = (time.monotonic() if now is None else now) + self.assumed_ttl

    def forget_pod(self, pod: core_v1.Pod) -> None:
        """Undo assume_pod (binding failed)."""
        key = pod_key(pod)
        state = self._pods.get(key)
        if state is not None and state.assumed:
            self.remove_pod(state.pod)

    def is_assumed(self, pod: core_v1.Pod) -> bool:
        state = self._pods.get(pod_key(pod))
        return state is not None and state.assumed

    def cleanup_expired(self, now: float | None = None) -> list[str]:
        """Drop assumed pods whose binding was never confirmed in time; returns their keys."""
        now = time.monotonic() if now is None else now
        expired = [k for k, s in self._pods.items()
                   if s.assumed and s.deadline is not None and s.deadline <= now]
        for key in expired:
            self.remove_pod(self._pods[key].pod)
        return expired

    def pods(self) -> Iterable[core_v1.Pod]:
        return (s.pod for s in self._pods.values())

    def node_list(self) -> list[NodeInfo]:
        if self._node_list is None:
            self._node_list = list(self.nodes.values())
        return self._node_list

    def arrays(self) -> NodeArrays:
        """The node list's numbers as arrays; rebuilt only after nodes come or go."""
        if self._arrays is None:
            self._arrays = NodeArrays(self.node_list())
        return self._arrays

    def snapshot(self, **extra: Any) -> Snapshot:
        """A view for one synchronous cycle; it shares the cache's NodeInfos and indexes."""
        return Snapshot(self.node_list(), **extra, cache=self)
