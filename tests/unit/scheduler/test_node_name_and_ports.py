"""NodeName and NodePorts."""

from __future__ import annotations

from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.framework import Code, CycleState
from kubelite.scheduler.plugins import node_name, node_ports
from tests.unit.scheduler.builders import make_node, make_pod, snapshot


def test_node_name() -> None:
    state = CycleState(snapshot([]))
    pod = make_pod("p", node="b")
    assert node_name.NodeName().filter(state, pod, NodeInfo(make_node("b"))).is_success
    status = node_name.NodeName().filter(state, pod, NodeInfo(make_node("a")))
    assert status.reasons == ("node(s) didn't match the requested node name",)


def test_host_ports_conflict_with_wildcard_and_same_ip() -> None:
    plugin, state = node_ports.NodePorts(), CycleState(snapshot([]))
    node = NodeInfo(make_node("n"))
    node.add_pod(make_pod("old", node="n", ports=[{"containerPort": 80, "hostPort": 8080}]))
    pod = make_pod("p", ports=[{"containerPort": 80, "hostPort": 8080, "hostIP": "10.0.0.1"}])
    assert plugin.pre_filter(state, pod).is_success
    status = plugin.filter(state, pod, node)
    assert status.code == Code.UNSCHEDULABLE and status.reasons == (node_ports.REASON,)
    other = make_pod("q", ports=[{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}])
    plugin.pre_filter(state, other)
    assert plugin.filter(state, other, node).is_success
    node.remove_pod("default/old")
    plugin.pre_filter(state, pod)
    assert plugin.filter(state, pod, node).is_success


def test_pods_without_host_ports_skip() -> None:
    assert node_ports.NodePorts().pre_filter(CycleState(snapshot([])), make_pod("p")).code == Code.SKIP
