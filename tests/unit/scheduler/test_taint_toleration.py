"""TaintToleration and NodeUnschedulable: refusal text, tolerations, PreferNoSchedule score."""

from __future__ import annotations

from kubelite.api.types import core_v1
from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.framework import Code, CycleState
from kubelite.scheduler.plugins.node_unschedulable import REASON as CORDONED
from kubelite.scheduler.plugins.node_unschedulable import NodeUnschedulable
from kubelite.scheduler.plugins.taint_toleration import TaintToleration, tolerates
from tests.unit.scheduler.builders import make_node, make_pod, snapshot

STATE = CycleState(snapshot([]))
TAINTED = NodeInfo(make_node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]))


def test_untolerated_taint_message() -> None:
    status = TaintToleration().filter(STATE, make_pod("p"), TAINTED)
    assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert status.reasons == ("node(s) had untolerated taint {dedicated: gpu}",)


def test_tolerations() -> None:
    taint = core_v1.Taint(key="k", value="v", effect="NoSchedule")
    assert tolerates(core_v1.Toleration(key="k", value="v", operator="Equal"), taint)
    assert tolerates(core_v1.Toleration(operator="Exists"), taint)
    assert not tolerates(core_v1.Toleration(key="k", value="w"), taint)
    assert not tolerates(core_v1.Toleration(key="k", operator="Exists", effect="NoExecute"), taint)
    pod = make_pod("p", tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert TaintToleration().filter(STATE, pod, TAINTED).is_success


def test_prefer_no_schedule_scores_lower() -> None:
    soft = NodeInfo(make_node("s", taints=[{"key": "a", "effect": "PreferNoSchedule"}]))
    clean = NodeInfo(make_node("c"))
    plugin, pod = TaintToleration(), make_pod("p")
    scores = {"s": plugin.score(STATE, pod, soft), "c": plugin.score(STATE, pod, clean)}
    plugin.normalize_score(STATE, pod, scores)
    assert scores == {"s": 0, "c": 100}


def test_cordoned_node() -> None:
    node = NodeInfo(make_node("n", unschedulable=True))
    assert NodeUnschedulable().filter(STATE, make_pod("p"), node).reasons == (CORDONED,)
    tolerant = make_pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable",
                                           "operator": "Exists", "effect": "NoSchedule"}])
    assert NodeUnschedulable().filter(STATE, tolerant, node).is_success
