"""NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods that tolerate the
node.kubernetes.io/unschedulable:NoSchedule taint."""

from __future__ import annotations

import numpy as np

from kubelite.api.types import core_v1
from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.framework import SUCCESS, CycleState, Event, Plugin, Status
from kubelite.scheduler.node_arrays import BoolArray, NodeArrays
from kubelite.scheduler.plugins.taint_toleration import tolerates

NAME = "NodeUnschedulable"
REASON = "node(s) were unschedulable"
EVENTS = Event.NODE_ADD | Event.NODE_TAINT

UNSCHEDULABLE_TAINT = core_v1.Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


def allows(pod: core_v1.Pod, node: core_v1.Node) -> bool:
    if not (node.spec and node.spec.unschedulable):
        return True
    tolerations = (pod.spec.tolerations if pod.spec else None) or []
    return any(tolerates(t, UNSCHEDULABLE_TAINT) for t in tolerations)


class NodeUnschedulable(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def filter_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays
                      ) -> BoolArray | None:
        tolerations = (pod.spec.tolerations if pod.spec else None) or []
        if any(tolerates(t, UNSCHEDULABLE_TAINT) for t in tolerations):
            return np.ones(len(arrays.nodes), np.bool_)
        ok: BoolArray = ~arrays.unschedulable
        return ok

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        if not node.unschedulable:
            return SUCCESS
        return SUCCESS if allows(pod, node.node) else Status.unresolvable(REASON)
