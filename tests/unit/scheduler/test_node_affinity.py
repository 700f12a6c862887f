"""NodeAffinity: nodeSelector, required terms with every operator, preferred scoring."""

from __future__ import annotations

from typing import Any

from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.framework import Code, CycleState
from kubelite.scheduler.plugins.node_affinity import REASON, NodeAffinity, required_matches
from tests.unit.scheduler.builders import make_node, make_pod, snapshot

NODE = make_node("n", labels={"zone": "a", "gpu": "2", "disk": "ssd"})


def required(*exprs: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": list(exprs)}]}}}


def test_node_selector() -> None:
    assert required_matches(make_pod("p", nodeSelector={"disk": "ssd"}), NODE)
    assert not required_matches(make_pod("p", nodeSelector={"disk": "hdd"}), NODE)


def test_operators() -> None:
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"key": "zone", "operator": "In", "values": ["a", "b"]}, True),
        ({"key": "zone", "operator": "NotIn", "values": ["a"]}, False),
        ({"key": "gpu", "operator": "Exists"}, True),
        ({"key": "gpu", "operator": "DoesNotExist"}, False),
        ({"key": "gpu", "operator": "Gt", "values": ["1"]}, True),
        ({"key": "gpu", "operator": "Lt", "values": ["2"]}, False),
        ({"key": "missing", "operator": "NotIn", "values": ["x"]}, True),
    ]
    for expr, want in cases:
        assert required_matches(make_pod("p", affinity=required(expr)), NODE) is want, expr


def test_terms_are_ored_and_filter_is_unresolvable() -> None:
    aff = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z"]}]},
        {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}
    assert required_matches(make_pod("p", affinity=aff), NODE)
    pod = make_pod("p", nodeSelector={"zone": "b"})
    status = NodeAffinity().filter(CycleState(snapshot([])), pod, NodeInfo(NODE))
    assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE and status.reasons == (REASON,)


def test_preferred_terms_score_and_normalize() -> None:
    aff = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}},
        {"weight": 30, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}}
    pod = make_pod("p", affinity=aff)
    plugin, state = NodeAffinity(), CycleState(snapshot([]))
    other = NodeInfo(make_node("o", labels={"zone": "a"}))
    scores = {"n": plugin.score(state, pod, NodeInfo(NODE)), "o": plugin.score(state, pod, other)}
    assert scores == {"n": 40, "o": 10}
    plugin.normalize_score(state, pod, scores)
    assert scores == {"n": 100, "o": 25}
