"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory would be used in
similar proportions once the pod is placed."""

from __future__ import annotations

import math
from collections.abc import Sequence

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
