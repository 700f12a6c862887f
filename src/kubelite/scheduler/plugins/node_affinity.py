"""NodeAffinity: spec.nodeSelector and required node affinity must match the node's labels;
preferred terms add their weight to the nodes they match."""

from __future__ import annotations

from collections.abc import Sequence

from kubelite.api.types import core_v1
from kubelite.scheduler._labels import node_selector_matches, node_selector_term_matches
from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.framework import (
    SKIP,
    SUCCESS,
    CycleState,
    Event,
    Plugin,
    Status,
    default_normalize_score,
)

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

    def pre_score(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]) -> Status:
        na = _node_affinity(pod)
        return SUCCESS if na and na.preferred_during_scheduling_ignored_during_execution else SKIP

    def score(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> int:
        return preferred_score(pod, node.node)

    def normalize_score(self, state: CycleState, pod: core_v1.Pod, scores: dict[str, int]) -> None:
        default_normalize_score(scores)
