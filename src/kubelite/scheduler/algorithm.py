"""One scheduling cycle, without I/O: pre-filter, filter a sample of nodes, score, pick.

`Algorithm.schedule` returns the chosen node or raises FitError, whose message is the text
kube-scheduler writes into the FailedScheduling event and the PodScheduled condition.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np

from kubelite.api.types import core_v1
from kubelite.api.types.policy_v1 import PodDisruptionBudget
from kubelite.scheduler.cache import NodeInfo, Snapshot
from kubelite.scheduler.framework import SUCCESS, ApiPatch, Code, CycleState, Plugin, Status
from kubelite.scheduler.node_arrays import BoolArray, IntArray
from kubelite.scheduler.plugins import default_preemption as preemption
from kubelite.scheduler.registry import Profile, default_profile

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5

NO_NODE_AVAILABLE = "0/{n} nodes are available"
NO_NODES_REGISTERED = "no nodes available to schedule pods"


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes to look for before scoring (kube-scheduler's exact formula)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = 50 - num_all_nodes // 125
        if percentage < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND:
            percentage = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND
    num = num_all_nodes * percentage // 100
    return max(num, MIN_FEASIBLE_NODES_TO_FIND)


def _histogram(statuses: list[Status]) -> str:
    counts: Counter[str] = Counter(r for s in statuses for r in s.reasons)
    return ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items()))


@dataclass
class Diagnosis:
    """Why no node fit: each evaluated node's refusal, or one PreFilter refusal for all."""

    node_status: dict[str, Status] = field(default_factory=dict)
    pre_filter_msg: str = ""
    unschedulable_plugins: set[str] = field(default_factory=set)


class FitError(Exception):
    """No node can take the pod; str() is kube-scheduler's FailedScheduling message."""

    def __init__(self, pod: core_v1.Pod, num_all_nodes: int, diagnosis: Diagnosis) -> None:
        self.pod = pod
        self.num_all_nodes = num_all_nodes
        self.diagnosis = diagnosis
        self.post_filter_msg: str | None = None  # DefaultPreemption's verdict, once it ran
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.num_all_nodes == 0:
            return NO_NODES_REGISTERED
        msg = NO_NODE_AVAILABLE.format(n=self.num_all_nodes) + ":"
        if self.diagnosis.pre_filter_msg:
            msg += f" {self.diagnosis.pre_filter_msg}."
        else:
            hist = _histogram(list(self.diagnosis.node_status.values()))
            if hist:
                msg += f" {hist}."
        post = self.preemption_message() if self.post_filter_msg is None else self.post_filter_msg
        return msg + (f" {post}" if post else "")

    def preemption_message(self) -> str:
        """DefaultPreemption's words when it found no victims (or did not run)."""
        why = preemption.eligible(self.pod, None)
        if why:
            return f"preemption: {why}"
        verdicts = [Status(reasons=(preemption.PREEMPTION_NOT_HELPFUL,))
                    if s.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
                    else Status(reasons=(preemption.NO_PREEMPTION_VICTIMS,))
                    for s in self.diagnosis.node_status.values()]
        return (f"preemption: {NO_NODE_AVAILABLE.format(n=self.num_all_nodes)}: "
                f"{_histogram(verdicts)}.")


@dataclass
class ScheduleResult:
    node: str
    evaluated_nodes: int
    feasible_nodes: int
    state: CycleState | None = None  # the cycle's state, for PreBind
    feasible: list[NodeInfo] = field(default_factory=list)  # scored nodes (none if only one fit)
    totals: IntArray | None = None  # their weighted totals, in the same order

    @property
    def scores(self) -> dict[str, int]:
        """Weighted totals of the scored feasible nodes, by node name (built on demand)."""
        if self.totals is None:
            return {}
        return dict(zip((n.name for n in self.feasible), self.totals.tolist(), strict=True))


@dataclass
class NodeReport:
    """One node's fate for one pod: who refused it and why, or its scores per plugin."""

    node: str
    feasible: bool
    plugin: str = ""
    code: str = ""
    reasons: tuple[str, ...] = ()
    scores: dict[str, int] = field(default_factory=dict)  # plugin -> weighted score
    total: int = 0


class Algorithm:
    """Runs a profile's plugins over a snapshot. Keeps only the round-robin start index."""

    def __init__(self, profile: Profile | None = None, percentage_of_nodes_to_score: int = 0,
                 rng: random.Random | None = None) -> None:
        self.profile = profile or default_profile()
        self.percentage = percentage_of_nodes_to_score
        self.rng = rng or random.Random()
        self.next_start_node_index = 0

    def _pre_filter(self, state: CycleState, pod: core_v1.Pod) -> Status:
        for plugin in self.profile.filters:
            status = plugin.pre_filter(state, pod)
            if status.code == Code.SKIP:
                state.skip_filter.add(plugin.NAME)
            elif not status.is_success:
                return status.with_plugin(plugin.NAME)
        return SUCCESS

    def run_filters(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        for plugin in self.profile.filters:
            if plugin.NAME in state.skip_filter:
                continue
            status = plugin.filter(state, pod, node)
            if status is not SUCCESS and not status.is_success:
                return status.with_plugin(plugin.NAME)
        return SUCCESS

    def _run(self, plugins: list[Plugin], state: CycleState, pod: core_v1.Pod, node: NodeInfo,
             diagnosis: Diagnosis | None) -> bool:
        """Run plugins' filters on one node in order; record a refusal in diagnosis."""
        for plugin in plugins:
            status = plugin.filter(state, pod, node)
            if status is not SUCCESS and not status.is_success:
                if status.code == Code.ERROR:
                    raise RuntimeError(f"running {plugin.NAME!r} filter plugin: {status.message}")
                if diagnosis is not None:
                    diagnosis.node_status[node.name] = status.with_plugin(plugin.NAME)
                    diagnosis.unschedulable_plugins.add(plugin.NAME)
                return False
        return True

    def _filter_vector(self, state: CycleState, pod: core_v1.Pod, start: int, want: int,
                       diagnosis: Diagnosis) -> tuple[IntArray, int]:
        """Filter nodes round-robin from `start` until `want` fit: (feasible rows, processed).

        Plugins with an array form decide every node at once; plugins without one run per
        node on the nodes the arrays let through. Refusal reasons are only needed when no
        node fits: then every plugin's own `filter` runs on every node to write them.
        """
        nodes = state.snapshot.nodes
        arrays = state.snapshot.arrays
        total = len(nodes)
        active = [p for p in self.profile.filters if p.NAME not in state.skip_filter]
        fits: BoolArray = np.ones(total, np.bool_)
        per_node: list[Plugin] = []
        for plugin in active:
            mask = plugin.filter_vector(state, pod, arrays)
            if mask is None:
                per_node.append(plugin)
            else:
                fits &= mask
        order = np.arange(start, start + total) % total
        positions = np.flatnonzero(fits[order])
        if per_node:
            kept: list[int] = []
            for pos in positions.tolist():
                if self._run(per_node, state, pod, nodes[int(order[pos])], None):
                    kept.append(pos)
                    if len(kept) >= want:
                        break
            positions = np.array(kept, np.int64)
        if len(positions) >= want:
            positions = positions[:want]
            return order[positions], int(positions[-1]) + 1
        if not len(positions):
            for row in order.tolist():
                self._run(active, state, pod, nodes[row], diagnosis)
        return order[positions], total

    def _score_vector(self, state: CycleState, pod: core_v1.Pod, rows: IntArray,
                      feasible: list[NodeInfo]) -> IntArray:
        """Weighted totals of the feasible rows, through plugins' array forms where they have one."""
        snapshot = state.snapshot
        totals: IntArray = np.zeros(len(rows), np.int64)
        for plugin, weight in self.profile.scorers:
            if plugin.pre_score(state, pod, feasible).code == Code.SKIP:
                continue
            scores = plugin.score_vector(state, pod, snapshot.arrays, rows)
            if scores is None:
                raw = plugin.score_nodes(state, pod, feasible)
                by_name = {n.name: s for n, s in zip(feasible, raw, strict=True)}
                plugin.normalize_score(state, pod, by_name)
                scores = np.fromiter(by_name.values(), np.int64, len(feasible))
            totals += scores * weight
        return totals

    def score(self, state: CycleState, pod: core_v1.Pod, nodes: list[NodeInfo]
              ) -> dict[str, dict[str, int]]:
        """plugin name -> node name -> weighted normalized score."""
        out: dict[str, dict[str, int]] = {}
        for plugin, weight in self.profile.scorers:
            if plugin.pre_score(state, pod, nodes).code == Code.SKIP:
                continue
            raw = plugin.score_nodes(state, pod, nodes)
            scores = {n.name: s for n, s in zip(nodes, raw, strict=True)}
            plugin.normalize_score(state, pod, scores)
            out[plugin.NAME] = {name: s * weight for name, s in scores.items()}
        return out

    def schedule(self, pod: core_v1.Pod, snapshot: Snapshot) -> ScheduleResult:
        """Pick a node for pod, or raise FitError."""
        nodes = snapshot.nodes
        if not nodes:
            raise FitError(pod, 0, Diagnosis())
        state = CycleState(snapshot)
        status = self._pre_filter(state, pod)
        if not status.is_success:
            if status.code == Code.ERROR:
                raise RuntimeError(f"running PreFilter plugin {status.plugin!r}: {status.message}")
            diag = Diagnosis({n.name: status for n in nodes}, status.message, {status.plugin})
            raise FitError(pod, len(nodes), diag)
        want = num_feasible_nodes_to_find(len(nodes), self.percentage)
        diagnosis = Diagnosis()
        rows, processed = self._filter_vector(state, pod, self.next_start_node_index, want,
                                              diagnosis)
        self.next_start_node_index = (self.next_start_node_index + processed) % len(nodes)
        if not len(rows):
            raise FitError(pod, len(nodes), diagnosis)
        if len(rows) == 1:
            return ScheduleResult(nodes[int(rows[0])].name, processed, 1, state=state)
        feasible = list(itemgetter(*rows.tolist())(nodes))
        totals = self._score_vector(state, pod, rows, feasible)
        best = np.flatnonzero(totals == totals.max())
        chosen = nodes[int(rows[best[self.rng.randrange(len(best))]])]
        return ScheduleResult(chosen.name, processed, len(rows), state, feasible, totals)

    def preempt(self, fit: FitError, snapshot: Snapshot,
                pdbs: Sequence[PodDisruptionBudget] = ()) -> preemption.Candidate | None:
        """DefaultPreemption's PostFilter: the node to nominate and its victims, or None.

        Sets fit.post_filter_msg: empty when a node was found (Kubernetes then writes no
        preemption words), else why preemption cannot help.
        """
        pod = fit.pod
        nominated = (pod.status.nominated_node_name if pod.status else None) or ""
        why = preemption.eligible(pod, snapshot.get(nominated) if nominated else None)
        if why or fit.diagnosis.pre_filter_msg:
            fit.post_filter_msg = f"preemption: {why}" if why else None
            return None
        state = CycleState(snapshot)
        if not self._pre_filter(state, pod).is_success:
            return None
        candidates, verdicts = preemption.find_candidates(
            pod, snapshot.nodes, fit.diagnosis.node_status,
            lambda info: self.run_filters(state, pod, info).is_success, pdbs)
        chosen = preemption.pick_one_node(candidates)
        if chosen is None:
            hist = _histogram([Status(reasons=(v,)) for v in verdicts.values()])
            fit.post_filter_msg = (
                f"preemption: {NO_NODE_AVAILABLE.format(n=fit.num_all_nodes)}: {hist}.")
            return None
        fit.post_filter_msg = ""
        return chosen

    def pre_bind(self, result: ScheduleResult, pod: core_v1.Pod) -> list[ApiPatch]:
        """Every plugin's writes to make before binding pod to result.node."""
        if result.state is None:
            return []
        return [patch for plugin in self.profile.plugins.values()
                for patch in plugin.pre_bind(result.state, pod, result.node)]

    def explain(self, pod: core_v1.Pod, snapshot: Snapshot) -> list[NodeReport]:
        """Every node (no sampling): the filter that refused it, or its weighted scores."""
        state = CycleState(snapshot)
        pre = self._pre_filter(state, pod)
        if not pre.is_success:
            return [NodeReport(n.name, False, pre.plugin, pre.code.name, pre.reasons)
                    for n in snapshot.nodes]
        reports: dict[str, NodeReport] = {}
        feasible = []
        for node in snapshot.nodes:
            status = self.run_filters(state, pod, node)
            reports[node.name] = NodeReport(node.name, status.is_success, status.plugin,
                                            status.code.name, status.reasons)
            if status.is_success:
                feasible.append(node)
        if feasible:
            for plugin, scores in self.score(state, pod, feasible).items():
                for name, s in scores.items():
                    reports[name].scores[plugin] = s
                    reports[name].total += s
        return list(reports.values())
