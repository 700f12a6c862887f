"""TaintToleration: a pod lands only where it tolerates every NoSchedule/NoExecute taint, and
prefers nodes with fewer PreferNoSchedule taints it does not tolerate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from kubelite.api.types import core_v1
from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.framework import (
    MAX_NODE_SCORE,
    SUCCESS,
    CycleState,
    Event,
    Plugin,
    Status,
    default_normalize_score,
)
from kubelite.scheduler.node_arrays import BoolArray, IntArray, NodeArrays

NAME = "TaintToleration"
REASON = "node(s) had untolerated taint {{{key}: {value}}}"
EVENTS = Event.NODE_ADD | Event.NODE_TAINT

FILTER_EFFECTS = ("NoSchedule", "NoExecute")


def tolerates(toleration: core_v1.Toleration, taint: core_v1.Taint) -> bool:
    """v1.Toleration.ToleratesTaint: an empty key with Exists tolerates everything."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if toleration.operator in (None, "", "Equal"):
        return (toleration.value or "") == (taint.value or "")
    return False


def untolerated_taint(taints: Iterable[core_v1.Taint], tolerations: Sequence[core_v1.Toleration],
                      effects: Sequence[str] = FILTER_EFFECTS) -> core_v1.Taint | None:
    """The first taint with one of `effects` that no toleration tolerates, or None."""
    for taint in taints:
        if taint.effect in effects and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def reason_for(taint: core_v1.Taint) -> str:
    return REASON.format(key=taint.key, value=taint.value or "")


class TaintToleration(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        if not node.filter_taints:
            return SUCCESS
        tolerations = (pod.spec.tolerations if pod.spec else None) or []
        taint = untolerated_taint(node.filter_taints, tolerations)
        return Status.unresolvable(reason_for(taint)) if taint else SUCCESS

    def filter_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays
                      ) -> BoolArray | None:
        """Tolerations checked once per distinct taint set, then looked up per node."""
        tolerations = (pod.spec.tolerations if pod.spec else None) or []
        ok = np.array([untolerated_taint(ts, tolerations) is None for ts in arrays.taint_sets])
        result: BoolArray = ok[arrays.filter_taint_id]
        return result

    def score_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays,
                     rows: IntArray) -> IntArray | None:
        """Untolerated PreferNoSchedule taints per distinct taint set, reverse-normalized."""
        tolerations = [t for t in (pod.spec.tolerations if pod.spec else None) or []
                       if t.effect in (None, "", "PreferNoSchedule")]
        per_set = np.array([sum(1 for taint in ts if not any(tolerates(t, taint) for t in tolerations))
                            for ts in arrays.taint_sets], np.int64)
        raw = per_set[arrays.prefer_taint_id[rows]]
        highest = int(raw.max(initial=0))
        if highest == 0:
            return np.full(len(rows), MAX_NODE_SCORE, np.int64)
        out: IntArray = MAX_NODE_SCORE - MAX_NODE_SCORE * raw // highest
        return out

    def score(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> int:
        if not node.prefer_taints:
            return 0
        tolerations = [t for t in (pod.spec.tolerations if pod.spec else None) or []
                       if t.effect in (None, "", "PreferNoSchedule")]
        return sum(1 for taint in node.prefer_taints
                   if not any(tolerates(t, taint) for t in tolerations))

    def score_nodes(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]
                    ) -> list[int]:
        return [self.score(state, pod, n) if n.prefer_taints else 0 for n in nodes]

    def normalize_score(self, state: CycleState, pod: core_v1.Pod, scores: dict[str, int]) -> None:
        default_normalize_score(scores, reverse=True)
