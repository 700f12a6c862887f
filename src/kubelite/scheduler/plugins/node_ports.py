"""NodePorts: a pod asking for host ports fits only where they are free."""

from __future__ import annotations

from kubelite.api.types import core_v1
from kubelite.scheduler.cache import NodeInfo, pod_host_ports
from kubelite.scheduler.framework import SKIP, SUCCESS, CycleState, Event, Plugin, Status

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"
EVENTS = Event.POD_DELETE | Event.NODE_ADD
_KEY = "PreFilter" + NAME


def fits(ports: list[tuple[str, str, int]], node: NodeInfo) -> bool:
    return not any(node.port_in_use(ip, proto, port) for ip, proto, port in ports)


class NodePorts(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def pre_filter(self, state: CycleState, pod: core_v1.Pod) -> Status:
        ports = pod_host_ports(pod)
        if not ports:
            return SKIP
        state.write(_KEY, ports)
        return SUCCESS

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        return SUCCESS if fits(state.read(_KEY) or [], node) else Status.unschedulable(REASON)
