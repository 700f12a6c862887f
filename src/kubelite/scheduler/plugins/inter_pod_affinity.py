"""InterPodAffinity: place a pod near (affinity) or away from (anti-affinity) pods matching a
label selector, within a topology domain (same node, same zone...).

Required terms filter; preferred terms score. Existing pods' required anti-affinity is
honoured too: a pod may not land where a running pod refuses its company.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kubelite.api.types import core_v1, meta_v1
from kubelite.scheduler._labels import selector_matches
from kubelite.scheduler.cache import NodeInfo, Snapshot
from kubelite.scheduler.framework import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    Event,
    Plugin,
    Status,
)

NAME = "InterPodAffinity"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
EVENTS = Event.POD_ADD | Event.POD_UPDATE | Event.POD_DELETE | Event.NODE_ADD | Event.NODE_LABEL
_FILTER_KEY = "PreFilter" + NAME
_SCORE_KEY = "PreScore" + NAME


def _ns(pod: core_v1.Pod) -> str:
    return (pod.metadata.namespace if pod.metadata else None) or ""


def _labels(pod: core_v1.Pod) -> dict[str, str]:
    return (pod.metadata.labels if pod.metadata else None) or {}


def term_matches(term: core_v1.PodAffinityTerm, owner: core_v1.Pod, target: core_v1.Pod,
                 snapshot: Snapshot) -> bool:
    """Does `target` match `owner`'s term (namespaces, then labelSelector)?

    With neither namespaces nor namespaceSelector the term means the owner's namespace.
    """
    ns = _ns(target)
    namespaces = set(term.namespaces or [])
    if term.namespace_selector is not None:
        in_ns = ns in namespaces or selector_matches(
            term.namespace_selector, snapshot.namespace_labels.get(ns, {}))
    else:
        in_ns = ns in (namespaces or {_ns(owner)})
    if not in_ns:
        return False
    selector = term.label_selector
    if selector is not None and term.match_label_keys:
        extra = {k: _labels(owner)[k] for k in term.match_label_keys if k in _labels(owner)}
        selector = meta_v1.LabelSelector(match_labels={**(selector.match_labels or {}), **extra},
                                         match_expressions=selector.match_expressions)
    return selector_matches(selector, _labels(target))


def _affinity(pod: core_v1.Pod) -> core_v1.Affinity | None:
    return pod.spec.affinity if pod.spec else None


def required_terms(pod: core_v1.Pod, anti: bool) -> list[core_v1.PodAffinityTerm]:
    a = _affinity(pod)
    block = (a.pod_anti_affinity if anti else a.pod_affinity) if a else None
    return list((block.required_during_scheduling_ignored_during_execution if block else None) or [])


def preferred_terms(pod: core_v1.Pod, anti: bool) -> list[core_v1.WeightedPodAffinityTerm]:
    a = _affinity(pod)
    block = (a.pod_anti_affinity if anti else a.pod_affinity) if a else None
    return list((block.preferred_during_scheduling_ignored_during_execution if block else None) or [])


def _all_pods(snapshot: Snapshot) -> Iterable[tuple[NodeInfo, core_v1.Pod]]:
    for node in snapshot.nodes:
        for pod in node.pods.values():
            yield node, pod


def _pods_to_visit(snapshot: Snapshot, own_terms: bool) -> Iterable[tuple[NodeInfo, core_v1.Pod]]:
    """Every pod when the incoming pod has terms of its own (any pod may match them);
    otherwise only pods with terms, whose rules may concern the incoming pod."""
    return _all_pods(snapshot) if own_terms else snapshot.affinity_pods()


@dataclass
class _FilterState:
    affinity: list[core_v1.PodAffinityTerm]
    anti: list[core_v1.PodAffinityTerm]
    # (topologyKey, value) pairs: where pods matching each affinity term live
    affinity_domains: list[set[tuple[str, str]]]
    anti_domains: set[tuple[str, str]]
    existing_anti_domains: set[tuple[str, str]]
    any_affinity_match: bool
    self_match: bool


class InterPodAffinity(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def pre_filter(self, state: CycleState, pod: core_v1.Pod) -> Status:
        snap = state.snapshot
        affinity, anti = required_terms(pod, False), required_terms(pod, True)
        existing_anti: set[tuple[str, str]] = set()
        aff_domains: list[set[tuple[str, str]]] = [set() for _ in affinity]
        anti_domains: set[tuple[str, str]] = set()
        any_match = False
        for node, other in _pods_to_visit(snap, bool(affinity or anti)):
            for term in required_terms(other, True):
                if term.topology_key in node.labels and term_matches(term, other, pod, snap):
                    existing_anti.add((term.topology_key, node.labels[term.topology_key]))
            for i, term in enumerate(affinity):
                if term_matches(term, pod, other, snap):
                    any_match = True
                    if term.topology_key in node.labels:
                        aff_domains[i].add((term.topology_key, node.labels[term.topology_key]))
            for term in anti:
                if term.topology_key in node.labels and term_matches(term, pod, other, snap):
                    anti_domains.add((term.topology_key, node.labels[term.topology_key]))
        if not affinity and not anti and not existing_anti:
            return SKIP
        self_match = all(term_matches(t, pod, pod, snap) for t in affinity)
        state.write(_FILTER_KEY, _FilterState(affinity, anti, aff_domains, anti_domains,
                                              existing_anti, any_match, self_match))
        return SUCCESS

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        st: _FilterState | None = state.read(_FILTER_KEY)
        if st is None:
            return SUCCESS
        labels = node.labels
        if any((k, v) in st.existing_anti_domains for k, v in labels.items()):
            return Status.unschedulable(REASON_EXISTING_ANTI_AFFINITY)
        for term, domains in zip(st.affinity, st.affinity_domains, strict=True):
            key = term.topology_key
            if key not in labels:
                return Status.unresolvable(REASON_AFFINITY)
            if (key, labels[key]) not in domains:
                # The first pod of a group that selects itself may start anywhere.
                if st.any_affinity_match or not st.self_match:
                    return Status.unresolvable(REASON_AFFINITY)
        for term in st.anti:
            key = term.topology_key
            if key in labels and (key, labels[key]) in st.anti_domains:
                return Status.unschedulable(REASON_ANTI_AFFINITY)
        return SUCCESS

    def pre_score(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]) -> Status:
        snap = state.snapshot
        pref, pref_anti = preferred_terms(pod, False), preferred_terms(pod, True)
        scores: dict[tuple[str, str], int] = {}

        def add(key: str, node: NodeInfo, weight: int) -> None:
            if key in node.labels:
                pair = (key, node.labels[key])
                scores[pair] = scores.get(pair, 0) + weight

        for node, other in _pods_to_visit(snap, bool(pref or pref_anti)):
            for w in pref:
                if term_matches(w.pod_affinity_term, pod, other, snap):
                    add(w.pod_affinity_term.topology_key, node, w.weight)
            for w in pref_anti:
                if term_matches(w.pod_affinity_term, pod, other, snap):
                    add(w.pod_affinity_term.topology_key, node, -w.weight)
            # Symmetry: existing pods' preferences about the incoming pod count too.
            for w in preferred_terms(other, False):
                if term_matches(w.pod_affinity_term, other, pod, snap):
                    add(w.pod_affinity_term.topology_key, node, w.weight)
            for w in preferred_terms(other, True):
                if term_matches(w.pod_affinity_term, other, pod, snap):
                    add(w.pod_affinity_term.topology_key, node, -w.weight)
            for t in required_terms(other, False):  # hardPodAffinityWeight 1
                if term_matches(t, other, pod, snap):
                    add(t.topology_key, node, 1)
        if not scores:
            return SKIP
        state.write(_SCORE_KEY, scores)
        return SUCCESS

    def score(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> int:
        scores: dict[tuple[str, str], int] = state.read(_SCORE_KEY) or {}
        return sum(scores.get((k, v), 0) for k, v in node.labels.items())

    def normalize_score(self, state: CycleState, pod: core_v1.Pod, scores: dict[str, int]) -> None:
        if not scores:
            return
        lo, hi = min(scores.values()), max(scores.values())
        for name, s in scores.items():
            scores[name] = MAX_NODE_SCORE * (s - lo) // (hi - lo) if hi > lo else 0
