"""InterPodAffinity: required affinity/anti-affinity, namespaces, existing pods' anti-affinity."""

from __future__ import annotations

from typing import Any

from kubelite.scheduler.framework import Code, CycleState
from kubelite.scheduler.plugins.inter_pod_affinity import (
    REASON_AFFINITY,
    REASON_ANTI_AFFINITY,
    REASON_EXISTING_ANTI_AFFINITY,
    InterPodAffinity,
)
from tests.unit.scheduler.builders import make_node, make_pod, snapshot

HOST = "kubernetes.io/hostname"


def term(labels: dict[str, str], key: str = HOST, **extra: Any) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": labels}, "topologyKey": key, **extra}


def run(pod: Any, pods: list[Any]) -> dict[str, Any]:
    snap = snapshot([make_node("n1"), make_node("n2")], pods)
    plugin, state = InterPodAffinity(), CycleState(snap)
    plugin.pre_filter(state, pod)
    return {n.name: plugin.filter(state, pod, n) for n in snap.nodes}


def test_required_affinity_follows_matching_pods() -> None:
    pod = make_pod("p", affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "db"})]}})
    out = run(pod, [make_pod("db", node="n2", labels={"app": "db"})])
    assert out["n2"].is_success
    assert out["n1"].code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE and out["n1"].reasons == (REASON_AFFINITY,)


def test_affinity_only_counts_pods_in_the_terms_namespaces() -> None:
    pod = make_pod("p", affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "db"})]}})
    out = run(pod, [make_pod("db", node="n2", ns="other", labels={"app": "db"})])
    assert not out["n2"].is_success
    pod2 = make_pod("p", affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "db"}, namespaces=["other"])]}})
    assert run(pod2, [make_pod("db", node="n2", ns="other", labels={"app": "db"})])["n2"].is_success


def test_first_pod_of_a_self_affine_group_may_go_anywhere() -> None:
    pod = make_pod("p", labels={"app": "db"}, affinity={"podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "db"})]}})
    assert all(s.is_success for s in run(pod, []).values())


def test_required_anti_affinity() -> None:
    pod = make_pod("p", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "web"})]}})
    out = run(pod, [make_pod("w", node="n1", labels={"app": "web"})])
    assert out["n1"].code == Code.UNSCHEDULABLE and out["n1"].reasons == (REASON_ANTI_AFFINITY,)
    assert out["n2"].is_success


def test_existing_pods_anti_affinity_is_respected() -> None:
    loner = make_pod("loner", node="n1", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [term({"app": "web"})]}})
    out = run(make_pod("p", labels={"app": "web"}), [loner])
    assert out["n1"].reasons == (REASON_EXISTING_ANTI_AFFINITY,)
    assert out["n2"].is_success


def test_preferred_affinity_scores() -> None:
    pod = make_pod("p", affinity={"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "podAffinityTerm": term({"app": "cache"})}]}})
    snap = snapshot([make_node("n1"), make_node("n2")],
                    [make_pod("c", node="n2", labels={"app": "cache"})])
    plugin, state = InterPodAffinity(), CycleState(snap)
    assert plugin.pre_score(state, pod, snap.nodes).is_success
    scores = {n.name: plugin.score(state, pod, n) for n in snap.nodes}
    plugin.normalize_score(state, pod, scores)
    assert scores == {"n1": 0, "n2": 100}
