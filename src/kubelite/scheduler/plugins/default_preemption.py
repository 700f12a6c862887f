"""DefaultPreemption: a PostFilter that frees a node for a pod no node can take, by evicting
lower-priority pods (pkg/scheduler/framework/plugins/defaultpreemption and
pkg/scheduler/framework/preemption).

On each node where preemption might help, `select_victims_on_node` removes every lower-priority
pod, checks the preemptor then fits, and gives back ("reprieves") as many as still leave room,
most important first, pods whose eviction would break a PodDisruptionBudget before the others.
`pick_one_node` then takes the candidate Kubernetes would. The plugin does no I/O: the
scheduler writes the nomination, the victims' DisruptionTarget condition and their deletion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kubelite.api.types import core_v1, policy_v1
from kubelite.scheduler._labels import selector_matches
from kubelite.scheduler.cache import NodeInfo, pod_key
from kubelite.scheduler.framework import Code, Status

NAME = "DefaultPreemption"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_PREEMPTION_VICTIMS = "No preemption victims found for incoming pod"
PREEMPTION_NEVER = "not eligible due to preemptionPolicy=Never."
TERMINATING_ON_NOMINATED = "not eligible due to a terminating pod on the nominated node."
# what the victims are told (reason, condition and event words of Kubernetes 1.32)
DISRUPTION_TARGET = "DisruptionTarget"
REASON_PREEMPTION = "PreemptionByScheduler"
CONDITION_MESSAGE = "{scheduler}: preempting to accommodate a higher priority pod"
EVENT_REASON = "Preempted"
EVENT_ACTION = "Preempting"
EVENT_MESSAGE = "Preempted by pod {uid} on node {node}"

Fits = Callable[[NodeInfo], bool]
"""Whether the preemptor passes every filter on a (modified) node."""


def priority(pod: core_v1.Pod) -> int:
    return (pod.spec.priority if pod.spec else None) or 0


def start_time(pod: core_v1.Pod) -> str:
    """status.startTime, or creation time; an unknown one sorts as newest."""
    return ((pod.status.start_time if pod.status else None)
            or (pod.metadata.creation_timestamp if pod.metadata else None) or "9999")


def _more_important_first(pods: Sequence[core_v1.Pod]) -> list[core_v1.Pod]:
    """MoreImportantPod order: higher priority, then the one that started earlier."""
    return sorted(pods, key=lambda p: (-priority(p), start_time(p)))


@dataclass
class Candidate:
    node: str
    victims: list[core_v1.Pod] = field(default_factory=list)
    pdb_violations: int = 0


def eligible(pod: core_v1.Pod, nominated: NodeInfo | None) -> str:
    """PodEligibleToPreemptOthers: "" if the pod may preempt, else why not."""
    spec = pod.spec
    if spec is not None and spec.preemption_policy == "Never":
        return PREEMPTION_NEVER
    if nominated is not None:  # it preempted already: wait while its victims terminate
        for p in nominated.pods.values():
            if p.metadata and p.metadata.deletion_timestamp and priority(p) < priority(pod):
                return TERMINATING_ON_NOMINATED
    return ""


def _pdb_violating(pods: list[core_v1.Pod], pdbs: Sequence[policy_v1.PodDisruptionBudget]
                   ) -> tuple[list[core_v1.Pod], list[core_v1.Pod]]:
    """filterPodsWithPDBViolation: (violating, non-violating), each keeping the given order."""
    allowed = [(pdb.status.disruptions_allowed if pdb.status else 0) for pdb in pdbs]
    violating: list[core_v1.Pod] = []
    ok: list[core_v1.Pod] = []
    for pod in pods:
        meta = pod.metadata
        broke = False
        if meta is not None:
            for i, pdb in enumerate(pdbs):
                pmeta = pdb.metadata
                if pmeta is None or pmeta.namespace != meta.namespace or pdb.spec is None:
                    continue
                if pdb.spec.selector is None or not pdb.spec.selector.match_labels and \
                        not pdb.spec.selector.match_expressions:
                    continue  # an empty selector matches nothing here, as in Kubernetes
                if not selector_matches(pdb.spec.selector, meta.labels or {}):
                    continue
                if meta.name in ((pdb.status.disrupted_pods if pdb.status else None) or {}):
                    continue  # already being disrupted: counted
                allowed[i] -= 1
                if allowed[i] < 0:
                    broke = True
        (violating if broke else ok).append(pod)
    return violating, ok


def _copy(node: NodeInfo, without: set[str]) -> NodeInfo:
    info = NodeInfo(node.node)
    for key, pod in node.pods.items():
        if key not in without:
            info.add_pod(pod)
    return info


def select_victims_on_node(pod: core_v1.Pod, node: NodeInfo, fits: Fits,
                           pdbs: Sequence[policy_v1.PodDisruptionBudget] = ()
                           ) -> Candidate | None:
    """The fewest lower-priority pods to evict so pod fits on node; None if evicting them all
    would not be enough. Victims come most important first."""
    lower = [p for p in node.pods.values() if priority(p) < priority(pod)]
    if not lower:
        return None
    info = _copy(node, {pod_key(p) for p in lower})
    if not fits(info):
        return None
    violating, ok = _pdb_violating(_more_important_first(lower), pdbs)
    victims: list[core_v1.Pod] = []
    violations = 0
    for group, breaks in ((violating, True), (ok, False)):
        for p in group:
            info.add_pod(p)
            if not fits(info):
                info.remove_pod(pod_key(p))
                victims.append(p)
                violations += breaks
    return Candidate(node.name, _more_important_first(victims), violations)


def pick_one_node(candidates: Sequence[Candidate]) -> Candidate | None:
    """pickOneNodeForPreemption: fewest PDB violations, then the lowest highest-priority
    victim, the smallest sum of priorities, the fewest victims, the latest start of the
    highest-priority victims; the first such node otherwise."""
    if not candidates:
        return None
    for c in candidates:
        if not c.victims:
            return c
    offset = 2**31  # sums of negative priorities still order right (MaxInt32 + 1)

    def key(c: Candidate) -> tuple[int, int, int, int, str]:
        top = priority(c.victims[0])
        earliest_top = min(start_time(v) for v in c.victims if priority(v) == top)
        inverted = "".join(chr(0x10FFFF - ord(ch)) for ch in earliest_top)  # latest first
        return (c.pdb_violations, top, sum(priority(v) + offset for v in c.victims),
                len(c.victims), inverted)

    return min(candidates, key=key)


def find_candidates(pod: core_v1.Pod, nodes: Sequence[NodeInfo], statuses: dict[str, Status],
                    fits: Callable[[NodeInfo], bool],
                    pdbs: Sequence[policy_v1.PodDisruptionBudget]
                    ) -> tuple[list[Candidate], dict[str, str]]:
    """Candidates among the nodes a filter refused as maybe resolvable, and why the other
    nodes are not (their PostFilter verdict, for the FailedScheduling message)."""
    candidates: list[Candidate] = []
    verdicts: dict[str, str] = {}
    for node in nodes:
        status = statuses.get(node.name)
        if status is not None and status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            verdicts[node.name] = PREEMPTION_NOT_HELPFUL
            continue
        candidate = select_victims_on_node(pod, node, fits, pdbs)
        if candidate is None:
            verdicts[node.name] = NO_PREEMPTION_VICTIMS
        else:
            candidates.append(candidate)
    return candidates, verdicts
