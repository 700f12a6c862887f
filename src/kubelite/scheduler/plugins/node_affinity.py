"""NodeAffinity: spec.nodeSelector and required node affinity must match the node's labels;
preferred terms add their weight to the nodes they match."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kubelite.api.types import core_v1
from kubelite.scheduler._labels import (
    node_selector_matches,
    node_selector_term_matches,
    requirement_matches,
)
from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.framework import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    Event,
    Plugin,
    Status,
    default_normalize_score,
)
from kubelite.scheduler.node_arrays import BoolArray, IntArray, NodeArrays

NAME = "NodeAffinity"
REASON = "node(s) didn't match Pod's node affinity/selector"
EVENTS = Event.NODE_ADD | Event.NODE_LABEL


def _node_affinity(pod: core_v1.Pod) -> core_v1.NodeAffinity | None:
    affinity = pod.spec.affinity if pod.spec else None
    return affinity.node_affinity if affinity else None


def required_matches(pod: core_v1.Pod, node: core_v1.Node) -> bool:
    """nodeSelector (every label equal) AND required affinity (any term) — the pure check."""
    labels = (node.metadata.labels if node.metadata else None) or {}
    for key, value in ((pod.spec.node_selector if pod.spec else None) or {}).items():
        if labels.get(key) != value:
            return False
    na = _node_affinity(pod)
    required = na.required_during_scheduling_ignored_during_execution if na else None
    return required is None or node_selector_matches(required, node)


def preferred_score(pod: core_v1.Pod, node: core_v1.Node) -> int:
    na = _node_affinity(pod)
    terms = (na.preferred_during_scheduling_ignored_during_execution if na else None) or []
    return sum(t.weight for t in terms if t.weight and node_selector_term_matches(t.preference, node))


def _requirement_mask(req: core_v1.NodeSelectorRequirement, arrays: NodeArrays) -> BoolArray:
    return arrays.label_mask(req.key, lambda v: requirement_matches(
        req.key, req.operator, req.values, {} if v is None else {req.key: v}))


def term_mask(term: core_v1.NodeSelectorTerm, arrays: NodeArrays) -> BoolArray | None:
    """node_selector_term_matches for every node; None if the term has matchFields."""
    if term.match_fields:
        return None
    mask: BoolArray = np.zeros(len(arrays.nodes), np.bool_)
    if term.match_expressions:
        mask[:] = True
        for req in term.match_expressions:
            mask &= _requirement_mask(req, arrays)
    return mask


def required_mask(pod: core_v1.Pod, arrays: NodeArrays) -> BoolArray | None:
    """required_matches for every node; None where matchFields needs the per-node check."""
    mask: BoolArray = np.ones(len(arrays.nodes), np.bool_)
    for key, value in ((pod.spec.node_selector if pod.spec else None) or {}).items():
        mask &= arrays.label_mask(key, lambda v, want=value: v == want)  # type: ignore[misc]
    na = _node_affinity(pod)
    required = na.required_during_scheduling_ignored_during_execution if na else None
    if required is not None:
        any_term: BoolArray = np.zeros(len(arrays.nodes), np.bool_)
        for term in required.node_selector_terms:
            m = term_mask(term, arrays)
            if m is None:
                return None
            any_term |= m
        mask &= any_term
    return mask


class NodeAffinity(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def pre_filter(self, state: CycleState, pod: core_v1.Pod) -> Status:
        na = _node_affinity(pod)
        has_required = na is not None and na.required_during_scheduling_ignored_during_execution
        if not (pod.spec and pod.spec.node_selector) and not has_required:
            return SKIP
        return SUCCESS

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        return SUCCESS if required_matches(pod, node.node) else Status.unresolvable(REASON)

    def filter_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays
                      ) -> BoolArray | None:
        return required_mask(pod, arrays)

    def score_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays,
                     rows: IntArray) -> IntArray | None:
        """preferred_score per node from term masks, then default_normalize_score."""
        na = _node_affinity(pod)
        terms = (na.preferred_during_scheduling_ignored_during_execution if na else None) or []
        raw: IntArray = np.zeros(len(rows), np.int64)
        for t in terms:
            if not t.weight:
                continue
            m = term_mask(t.preference, arrays)
            if m is None:
                return None
            raw += np.where(m[rows], t.weight, 0)
        highest = int(raw.max(initial=0))
        if highest == 0:
            return raw
        out: IntArray = MAX_NODE_SCORE * raw // highest
        return out

    def pre_score(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]) -> Status:
        na = _node_affinity(pod)
        return SUCCESS if na and na.preferred_during_scheduling_ignored_during_execution else SKIP

    def score(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> int:
        return preferred_score(pod, node.node)

    def normalize_score(self, state: CycleState, pod: core_v1.Pod, scores: dict[str, int]) -> None:
        default_normalize_score(scores)
