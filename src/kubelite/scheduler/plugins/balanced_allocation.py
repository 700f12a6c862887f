"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory would be used in
similar proportions once the pod is placed."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kubelite.api.types import core_v1
from kubelite.scheduler.cache import NodeInfo, pod_requests
from kubelite.scheduler.framework import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    Event,
    Plugin,
    Status,
)
from kubelite.scheduler.node_arrays import IntArray, NodeArrays

NAME = "NodeResourcesBalancedAllocation"
EVENTS = Event.POD_DELETE | Event.NODE_ADD | Event.NODE_ALLOCATABLE
_KEY = "PreScore" + NAME


def balanced_score(fractions: Sequence[float]) -> int:
    """100 * (1 - standard deviation of the used fractions, each capped at 1)."""
    fr = [min(f, 1.0) for f in fractions]
    if len(fr) == 2:
        std = abs(fr[0] - fr[1]) / 2
    elif fr:
        mean = sum(fr) / len(fr)
        std = math.sqrt(sum((f - mean) ** 2 for f in fr) / len(fr))
    else:
        std = 0.0
    return int((1 - std) * MAX_NODE_SCORE)


class BalancedAllocation(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def pre_score(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]) -> Status:
        requests = pod_requests(pod)
        if requests.milli_cpu == 0 and requests.memory == 0:
            return SKIP  # a best-effort pod changes no balance
        state.write(_KEY, requests)
        return SUCCESS

    def score(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> int:
        requests = state.read(_KEY) or pod_requests(pod)
        fractions = []
        alloc = node.allocatable
        if alloc.milli_cpu:
            fractions.append((node.requested.milli_cpu + requests.milli_cpu) / alloc.milli_cpu)
        if alloc.memory:
            fractions.append((node.requested.memory + requests.memory) / alloc.memory)
        return balanced_score(fractions)

    def score_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays,
                     rows: IntArray) -> IntArray | None:
        """balanced_score over arrays: a node missing cpu or memory allocatable scores 100."""
        requests = state.read(_KEY) or pod_requests(pod)
        cap_cpu, cap_mem = arrays.alloc_cpu[rows], arrays.alloc_mem[rows]
        both = (cap_cpu > 0) & (cap_mem > 0)
        cpu = np.minimum((arrays.req_cpu[rows] + requests.milli_cpu) / np.where(both, cap_cpu, 1), 1.0)
        mem = np.minimum((arrays.req_mem[rows] + requests.memory) / np.where(both, cap_mem, 1), 1.0)
        std = np.abs(cpu - mem) / 2
        scores = ((1 - std) * MAX_NODE_SCORE).astype(np.int64)
        out: IntArray = np.where(both, scores, MAX_NODE_SCORE)
        return out
