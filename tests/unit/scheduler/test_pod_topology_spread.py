"""PodTopologySpread: maxSkew filtering, missing labels, minDomains, default constraints."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.types import core_v1
from kubelite.scheduler.framework import Code, CycleState
from kubelite.scheduler.plugins.pod_topology_spread import (
    REASON,
    REASON_MISSING_LABEL,
    PodTopologySpread,
)
from tests.unit.scheduler.builders import make_node, make_pod, snapshot

APP = {"app": "web"}


def spread(max_skew: int = 1, when: str = "DoNotSchedule", **extra: Any) -> list[dict[str, Any]]:
    return [{"maxSkew": max_skew, "topologyKey": "zone", "whenUnsatisfiable": when,
             "labelSelector": {"matchLabels": APP}, **extra}]


def zones() -> list[core_v1.Node]:
    return [make_node("a1", labels={"zone": "a"}), make_node("b1", labels={"zone": "b"}),
            make_node("nolabel")]


def test_filter_keeps_skew_within_max() -> None:
    snap = snapshot(zones(), [make_pod("w1", node="a1", labels=APP)])
    pod = make_pod("new", labels=APP, topologySpreadConstraints=spread())
    plugin, state = PodTopologySpread(), CycleState(snap)
    assert plugin.pre_filter(state, pod).is_success
    by = snap.by_name
    assert plugin.filter(state, pod, by["a1"]).reasons == (REASON,)  # 1 + 1 - 0 > 1
    assert plugin.filter(state, pod, by["b1"]).is_success
    missing = plugin.filter(state, pod, by["nolabel"])
    assert missing.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE and missing.reasons == (REASON_MISSING_LABEL,)


def test_min_domains_treats_global_min_as_zero() -> None:
    snap = snapshot(zones(), [make_pod("w1", node="a1", labels=APP),
                              make_pod("w2", node="b1", labels=APP)])
    pod = make_pod("new", labels=APP, topologySpreadConstraints=spread(minDomains=3))
    plugin, state = PodTopologySpread(), CycleState(snap)
    plugin.pre_filter(state, pod)
    assert plugin.filter(state, pod, snap.by_name["a1"]).reasons == (REASON,)


def test_schedule_anyway_scores_emptier_domain_higher() -> None:
    snap = snapshot(zones()[:2], [make_pod("w1", node="a1", labels=APP)])
    pod = make_pod("new", labels=APP, topologySpreadConstraints=spread(when="ScheduleAnyway"))
    plugin, state = PodTopologySpread(), CycleState(snap)
    assert plugin.pre_filter(state, pod).code == Code.SKIP
    assert plugin.pre_score(state, pod, snap.nodes).is_success
    scores = {n.name: plugin.score(state, pod, n) for n in snap.nodes}
    plugin.normalize_score(state, pod, scores)
    assert scores["b1"] > scores["a1"]


def test_default_constraints_from_a_service() -> None:
    snap = snapshot([make_node("h1"), make_node("h2")],
                    [make_pod("w1", node="h1", labels=APP), make_pod("w2", node="h1", labels=APP)])
    snap.services = [msgspec.convert({"metadata": {"name": "svc", "namespace": "default"},
                                      "spec": {"selector": APP}}, core_v1.Service)]
    pod = make_pod("new", labels=APP)
    plugin, state = PodTopologySpread(), CycleState(snap)
    assert plugin.pre_score(state, pod, snap.nodes).is_success
    scores = {n.name: plugin.score(state, pod, n) for n in snap.nodes}
    plugin.normalize_score(state, pod, scores)
    assert scores["h2"] > scores["h1"]
    # A pod no Service or ReplicaSet selects has no default constraints.
    assert plugin.pre_score(CycleState(snap), make_pod("lonely"), snap.nodes).code == Code.SKIP
