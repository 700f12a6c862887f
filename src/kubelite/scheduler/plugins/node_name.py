"""NodeName: a pod that names a node (spec.nodeName) fits only there."""

from __future__ import annotations

from kubelite.api.types import core_v1
from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.framework import SKIP, SUCCESS, CycleState, Event, Plugin, Status

NAME = "NodeName"
REASON = "node(s) didn't match the requested node name"
EVENTS = Event.NODE_ADD


def fits(pod: core_v1.Pod, node_name: str) -> bool:
    wanted = pod.spec.node_name if pod.spec else None
    return not wanted or wanted == node_name


class NodeName(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def pre_filter(self, state: CycleState, pod: core_v1.Pod) -> Status:
        return SUCCESS if pod.spec and pod.spec.node_name else SKIP

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        return SUCCESS if fits(pod, node.name) else Status.unresolvable(REASON)
