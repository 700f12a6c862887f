"""PodTopologySpread: keep matching pods evenly spread over topology domains (zones, hosts).

DoNotSchedule constraints filter: placing the pod must not make its domain exceed the
least-populated domain by more than maxSkew. ScheduleAnyway constraints (or, for pods of a
Service/ReplicaSet without constraints, the cluster defaults) only score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

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
from kubelite.scheduler.node_arrays import BoolArray, NodeArrays, lookup
from kubelite.scheduler.plugins.node_affinity import required_matches

NAME = "PodTopologySpread"
REASON = "node(s) didn't match pod topology spread constraints"
REASON_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
EVENTS = Event.POD_ADD | Event.POD_UPDATE | Event.POD_DELETE | Event.NODE_ADD | Event.NODE_LABEL | Event.NODE_DELETE
_FILTER_KEY = "PreFilter" + NAME
_SCORE_KEY = "PreScore" + NAME

HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"


@dataclass
class Constraint:
    max_skew: int
    topology_key: str
    selector: meta_v1.LabelSelector
    min_domains: int = 1
    honor_affinity: bool = True


# The cluster defaults kube-scheduler applies to pods without their own constraints.
DEFAULT_CONSTRAINTS = ((HOSTNAME, 3), (ZONE, 5))


def _labels(pod: core_v1.Pod) -> dict[str, str]:
    return (pod.metadata.labels if pod.metadata else None) or {}


def constraints_of(pod: core_v1.Pod, when: str) -> list[Constraint]:
    out = []
    for c in (pod.spec.topology_spread_constraints if pod.spec else None) or []:
        if c.when_unsatisfiable != when:
            continue
        selector = c.label_selector or meta_v1.LabelSelector()
        if c.match_label_keys:
            extra = {k: _labels(pod)[k] for k in c.match_label_keys if k in _labels(pod)}
            selector = meta_v1.LabelSelector(
                match_labels={**(selector.match_labels or {}), **extra},
                match_expressions=selector.match_expressions)
        if c.label_selector is None and not c.match_label_keys:
            continue  # a nil selector matches no pod: the constraint can never be violated
        out.append(Constraint(c.max_skew, c.topology_key, selector, c.min_domains or 1,
                              c.node_affinity_policy != "Ignore"))
    return out


def default_selector(pod: core_v1.Pod, snapshot: Snapshot) -> meta_v1.LabelSelector | None:
    """Merged selectors of the Services and owning ReplicaSet that select the pod."""
    ns = pod.metadata.namespace if pod.metadata else None
    labels = _labels(pod)
    merged: dict[str, str] = {}
    for svc in snapshot.services:
        sel = svc.spec.selector if svc.spec else None
        if svc.metadata and svc.metadata.namespace == ns and sel and all(
                labels.get(k) == v for k, v in sel.items()):
            merged.update(sel)
    owners = (pod.metadata.owner_references if pod.metadata else None) or []
    exprs: list[meta_v1.LabelSelectorRequirement] = []
    for rs in snapshot.replica_sets:
        meta = rs.metadata
        if meta and meta.namespace == ns and any(
                o.kind == "ReplicaSet" and o.name == meta.name for o in owners):
            sel = rs.spec.selector if rs.spec else None
            if sel:
                merged.update(sel.match_labels or {})
                exprs.extend(sel.match_expressions or [])
    if not merged and not exprs:
        return None
    return meta_v1.LabelSelector(match_labels=merged or None, match_expressions=exprs or None)


def _count_matching(node: NodeInfo, ns: str | None, selector: meta_v1.LabelSelector) -> int:
    return sum(1 for p in node.pods.values()
               if p.metadata and p.metadata.namespace == ns and not p.metadata.deletion_timestamp
               and selector_matches(selector, p.metadata.labels))


@dataclass
class _FilterState:
    constraints: list[Constraint]
    counts: list[dict[str, int]] = field(default_factory=list)  # per constraint: domain -> pods
    global_min: list[int] = field(default_factory=list)  # per constraint
    self_match: list[int] = field(default_factory=list)  # per constraint: 1 if the pod counts


def _has_required_node_affinity(pod: core_v1.Pod) -> bool:
    spec = pod.spec
    if spec is None:
        return False
    na = spec.affinity.node_affinity if spec.affinity else None
    return bool(spec.node_selector) or bool(
        na and na.required_during_scheduling_ignored_during_execution)


def domain_counts(pod: core_v1.Pod, constraints: list[Constraint], snapshot: Snapshot,
                  require_all: bool) -> list[dict[str, int]]:
    """Per constraint: domain -> matching pods, over the nodes the constraint considers.

    Nodes count when they carry the topology key (all constraints' keys if require_all)
    and, if the constraint honours node affinity, match the pod's nodeSelector/affinity.
    When neither restriction removes a node, the cache's incremental counts answer at once.
    """
    ns = (pod.metadata.namespace if pod.metadata else None) or ""
    affinity = _has_required_node_affinity(pod)
    total = len(snapshot.nodes)
    keys = {c.topology_key for c in constraints}
    all_keys_everywhere = len(keys) == 1 or all(
        snapshot.nodes_with_label(k) == total for k in keys)
    if (not require_all or all_keys_everywhere) and not any(c.honor_affinity for c in constraints if affinity):
        return [snapshot.spread_counts(ns, c.selector, c.topology_key) for c in constraints]
    counts: list[dict[str, int]] = [{} for _ in constraints]
    for node in snapshot.nodes:
        if require_all and not all(k in node.labels for k in keys):
            continue
        matches: bool | None = None
        for i, c in enumerate(constraints):
            domain = node.labels.get(c.topology_key)
            if domain is None:
                continue
            if c.honor_affinity and affinity:
                if matches is None:
                    matches = required_matches(pod, node.node)
                if not matches:
                    continue
            counts[i][domain] = counts[i].get(domain, 0) + _count_matching(node, ns, c.selector)
    return counts


def skew_after_placing(count_in_domain: int, self_match: int, global_min: int) -> int:
    """The pure rule: how uneven the domains become if the pod joins this one."""
    return count_in_domain + self_match - global_min


class PodTopologySpread(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def pre_filter(self, state: CycleState, pod: core_v1.Pod) -> Status:
        constraints = constraints_of(pod, "DoNotSchedule")
        if not constraints:
            return SKIP
        st = _FilterState(constraints, domain_counts(pod, constraints, state.snapshot, True))
        for c, counts in zip(constraints, st.counts, strict=True):
            global_min = min(counts.values(), default=0)
            st.global_min.append(0 if len(counts) < c.min_domains else global_min)
            st.self_match.append(1 if selector_matches(c.selector, _labels(pod)) else 0)
        state.write(_FILTER_KEY, st)
        return SUCCESS

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        st: _FilterState | None = state.read(_FILTER_KEY)
        if st is None:
            return SUCCESS
        for i, c in enumerate(st.constraints):
            domain = node.labels.get(c.topology_key)
            if domain is None:
                return Status.unresolvable(REASON_MISSING_LABEL)
            here = st.counts[i].get(domain, 0)
            if skew_after_placing(here, st.self_match[i], st.global_min[i]) > c.max_skew:
                return Status.unschedulable(REASON)
        return SUCCESS

    def filter_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays
                      ) -> BoolArray | None:
        """Skew decided once per domain, looked up per node (a missing label refuses)."""
        st: _FilterState | None = state.read(_FILTER_KEY)
        ok: BoolArray = np.ones(len(arrays.nodes), np.bool_)
        if st is None:
            return ok
        for i, c in enumerate(st.constraints):
            codes, vocab = arrays.label_column(c.topology_key)
            table = [skew_after_placing(st.counts[i].get(domain, 0), st.self_match[i],
                                        st.global_min[i]) <= c.max_skew for domain in vocab]
            ok &= lookup(table, codes)
        return ok

    def pre_score(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]) -> Status:
        constraints = constraints_of(pod, "ScheduleAnyway")
        require_all = bool(constraints)
        if not (pod.spec and pod.spec.topology_spread_constraints):
            selector = default_selector(pod, state.snapshot)
            if selector is not None:
                constraints = [Constraint(skew, key, selector) for key, skew in DEFAULT_CONSTRAINTS]
        if not constraints:
            return SKIP
        counts = domain_counts(pod, constraints, state.snapshot, require_all)
        weights = []
        for c in constraints:
            domains = {n.labels[c.topology_key] for n in nodes if c.topology_key in n.labels}
            weights.append(math.log(len(domains) + 2))
        state.write(_SCORE_KEY, (constraints, counts, weights, require_all))
        return SUCCESS

    def score(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> int:
        constraints, counts, weights, require_all = state.read(_SCORE_KEY)
        if require_all and not all(c.topology_key in node.labels for c in constraints):
            return -1  # ignored: normalize gives it 0
        total = 0.0
        for c, count, weight in zip(constraints, counts, weights, strict=True):
            if c.topology_key in node.labels:
                total += count.get(node.labels[c.topology_key], 0) * weight + (c.max_skew - 1)
        return round(total)

    def normalize_score(self, state: CycleState, pod: core_v1.Pod, scores: dict[str, int]) -> None:
        valid = [s for s in scores.values() if s >= 0]
        if not valid:
            return
        lo, hi = min(valid), max(valid)
        for name, s in scores.items():
            if s < 0:
                scores[name] = 0
            elif hi == 0:
                scores[name] = MAX_NODE_SCORE
            else:
                scores[name] = MAX_NODE_SCORE * (hi + lo - s) // hi
