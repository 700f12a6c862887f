"""NodeResourcesFit: requests vs what is left, init containers as a floor, LeastAllocated."""

from __future__ import annotations

from kubelite.scheduler.cache import NodeInfo, pod_requests
from kubelite.scheduler.framework import Code, CycleState
from kubelite.scheduler.plugins.node_resources_fit import NodeResourcesFit, fits
from tests.unit.scheduler.builders import make_node, make_pod, snapshot


def test_init_containers_count_as_their_max() -> None:
    pod = make_pod("p", cpu="1", memory="1Gi", initContainers=[
        {"name": "i1", "resources": {"requests": {"cpu": "2", "memory": "512Mi"}}},
        {"name": "i2", "resources": {"requests": {"cpu": "500m", "memory": "3Gi"}}}])
    r = pod_requests(pod)
    assert (r.milli_cpu, r.memory) == (2000, 3 * 1024 ** 3)


def test_insufficient_cpu_and_too_many_pods() -> None:
    node = NodeInfo(make_node("n", cpu="1", pods=1))
    node.add_pod(make_pod("old", cpu="600m", node="n"))
    reasons = [m.reason for m in fits(pod_requests(make_pod("p", cpu="500m")), node)]
    assert reasons == ["Too many pods", "Insufficient cpu"]


def test_filter_status_codes() -> None:
    plugin = NodeResourcesFit()
    node = NodeInfo(make_node("n", cpu="2"))
    node.add_pod(make_pod("old", cpu="1500m", node="n"))
    state = CycleState(snapshot([]))
    assert plugin.filter(state, make_pod("p", cpu="1"), node).code == Code.UNSCHEDULABLE
    assert plugin.filter(state, make_pod("p", cpu="3"), node).code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert plugin.filter(state, make_pod("p", cpu="500m"), node).is_success


def test_least_allocated_prefers_emptier_nodes() -> None:
    plugin = NodeResourcesFit()
    empty, busy = NodeInfo(make_node("a", cpu="4", memory="4Gi")), NodeInfo(make_node("b", cpu="4", memory="4Gi"))
    busy.add_pod(make_pod("old", cpu="2", memory="2Gi", node="b"))
    state = CycleState(snapshot([]))
    pod = make_pod("p", cpu="1", memory="1Gi")
    plugin.pre_filter(state, pod)
    assert plugin.score(state, pod, empty) == 75  # (4-1)/4 for both
    assert plugin.score(state, pod, busy) == 25


def test_missing_requests_score_as_non_zero_defaults() -> None:
    r = pod_requests(make_pod("p"), non_zero=True)
    assert (r.milli_cpu, r.memory) == (100, 200 * 1024 * 1024)
