"""NodeResourcesFit: the pod's requests must fit in what the node has left; among fitting
nodes, prefer the least allocated (LeastAllocated strategy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kubelite.api.types import core_v1
from kubelite.scheduler.cache import NodeInfo, Resources, pod_requests
from kubelite.scheduler.framework import MAX_NODE_SCORE, SUCCESS, CycleState, Event, Plugin, Status
from kubelite.scheduler.node_arrays import BoolArray, IntArray, NodeArrays

NAME = "NodeResourcesFit"
REASON_TOO_MANY_PODS = "Too many pods"
REASON_CPU = "Insufficient cpu"
REASON_MEMORY = "Insufficient memory"
REASON_EPHEMERAL_STORAGE = "Insufficient ephemeral-storage"
REASON_EXTENDED = "Insufficient {name}"
EVENTS = Event.POD_DELETE | Event.POD_UPDATE | Event.NODE_ADD | Event.NODE_ALLOCATABLE
_KEY = "PreFilter" + NAME

# LeastAllocated weighs cpu and memory equally (the default scoringStrategy resources).
SCORE_RESOURCES = (("cpu", 1), ("memory", 1))


@dataclass(frozen=True)
class InsufficientResource:
    resource: str
    reason: str
    requested: int
    used: int
    capacity: int

    @property
    def unresolvable(self) -> bool:
        """The request exceeds the whole node: freeing other pods cannot help."""
        return self.requested > self.capacity


def fits(requests: Resources, node: NodeInfo) -> list[InsufficientResource]:
    """What the node lacks for a pod with these requests (empty list: it fits).

    The pure core check, shared with anything that must re-check admission.
    """
    out = []
    if len(node.pods) + 1 > node.allocatable.allowed_pods:
        out.append(InsufficientResource("pods", REASON_TOO_MANY_PODS, 1, len(node.pods),
                                        node.allocatable.allowed_pods))
    if requests.is_zero():
        return out
    alloc, used = node.allocatable, node.requested
    checks = (("cpu", REASON_CPU, requests.milli_cpu, used.milli_cpu, alloc.milli_cpu),
              ("memory", REASON_MEMORY, requests.memory, used.memory, alloc.memory),
              ("ephemeral-storage", REASON_EPHEMERAL_STORAGE, requests.ephemeral_storage,
               used.ephemeral_storage, alloc.ephemeral_storage))
    for name, reason, want, have_used, capacity in checks:
        if want > 0 and want > capacity - have_used:
            out.append(InsufficientResource(name, reason, want, have_used, capacity))
    for name, want in requests.scalar.items():
        capacity = node.allocatable.scalar.get(name, 0)
        have_used = used.scalar.get(name, 0)
        if want > 0 and want > capacity - have_used:
            out.append(InsufficientResource(name, REASON_EXTENDED.format(name=name), want,
                                            have_used, capacity))
    return out


def least_allocated_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def least_allocated_scores(requested: IntArray, capacity: IntArray) -> IntArray:
    """least_allocated_score over arrays."""
    ok = (capacity > 0) & (requested <= capacity)
    safe = np.where(ok, capacity, 1)
    return np.where(ok, (capacity - requested) * MAX_NODE_SCORE // safe, 0)


class NodeResourcesFit(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def pre_filter(self, state: CycleState, pod: core_v1.Pod) -> Status:
        state.write(_KEY, (pod_requests(pod), pod_requests(pod, non_zero=True)))
        return SUCCESS

    def _requests(self, state: CycleState, pod: core_v1.Pod) -> tuple[Resources, Resources]:
        cached = state.read(_KEY)
        return cached if cached else (pod_requests(pod), pod_requests(pod, non_zero=True))

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        requests = self._requests(state, pod)[0]
        alloc, used = node.allocatable, node.requested
        if (len(node.pods) < alloc.allowed_pods and not requests.scalar  # the common case, inline
                and requests.milli_cpu <= alloc.milli_cpu - used.milli_cpu
                and requests.memory <= alloc.memory - used.memory
                and requests.ephemeral_storage <= alloc.ephemeral_storage - used.ephemeral_storage):
            return SUCCESS
        missing = fits(requests, node)
        if not missing:
            return SUCCESS
        reasons = tuple(m.reason for m in missing)
        if any(m.unresolvable for m in missing):
            return Status.unresolvable(*reasons)
        return Status.unschedulable(*reasons)

    def filter_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays
                      ) -> BoolArray | None:
        """`fits` for every node at once (pods without extended resources)."""
        requests = self._requests(state, pod)[0]
        if requests.scalar:
            return None
        a = arrays
        ok: BoolArray = a.pod_count < a.alloc_pods
        for want, capacity, used in ((requests.milli_cpu, a.alloc_cpu, a.req_cpu),
                                     (requests.memory, a.alloc_mem, a.req_mem),
                                     (requests.ephemeral_storage, a.alloc_eph, a.req_eph)):
            if want > 0:
                ok &= want <= capacity - used
        return ok

    def score_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays,
                     rows: IntArray) -> IntArray | None:
        non_zero = self._requests(state, pod)[1]
        cpu = least_allocated_scores(arrays.nz_cpu[rows] + non_zero.milli_cpu, arrays.alloc_cpu[rows])
        mem = least_allocated_scores(arrays.nz_mem[rows] + non_zero.memory, arrays.alloc_mem[rows])
        out: IntArray = (cpu + mem) // 2
        return out

    def score(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> int:
        non_zero = self._requests(state, pod)[1]
        total = weights = 0
        for resource, weight in SCORE_RESOURCES:
            if resource == "cpu":
                req = node.non_zero_requested.milli_cpu + non_zero.milli_cpu
                cap = node.allocatable.milli_cpu
            else:
                req = node.non_zero_requested.memory + non_zero.memory
                cap = node.allocatable.memory
            total += least_allocated_score(req, cap) * weight
            weights += weight
        return total // weights if weights else 0

    def score_nodes(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]
                    ) -> list[int]:
        """LeastAllocated over cpu and memory (weight 1 each), in one loop."""
        non_zero = self._requests(state, pod)[1]
        cpu, mem = non_zero.milli_cpu, non_zero.memory
        out = []
        for n in nodes:
            out.append((least_allocated_score(n.non_zero_requested.milli_cpu + cpu, n.allocatable.milli_cpu)
                        + least_allocated_score(n.non_zero_requested.memory + mem, n.allocatable.memory)) // 2)
        return out
