"""BalancedAllocation: similar cpu and memory fractions score higher."""

from __future__ import annotations

from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.framework import Code, CycleState
from kubelite.scheduler.plugins.balanced_allocation import BalancedAllocation, balanced_score
from tests.unit.scheduler.builders import make_node, make_pod, snapshot


def test_pure_score() -> None:
    assert balanced_score([0.5, 0.5]) == 100
    assert balanced_score([1.0, 0.0]) == 50
    assert balanced_score([2.0, 0.0]) == 50  # fractions capped at 1


def test_prefers_the_balanced_node() -> None:
    plugin = BalancedAllocation()
    a, b = NodeInfo(make_node("a", cpu="4", memory="4Gi")), NodeInfo(make_node("b", cpu="4", memory="4Gi"))
    b.add_pod(make_pod("old", cpu="3", node="b"))
    pod = make_pod("p", cpu="1", memory="1Gi")
    state = CycleState(snapshot([]))
    assert plugin.pre_score(state, pod, [a, b]).is_success
    assert plugin.score(state, pod, a) > plugin.score(state, pod, b)


def test_best_effort_pods_skip() -> None:
    state = CycleState(snapshot([]))
    assert BalancedAllocation().pre_score(state, make_pod("p"), []).code == Code.SKIP
