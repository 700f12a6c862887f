"""DefaultPreemption: victim selection, PDBs, node choice and preemptionPolicy Never, after
the cases of Kubernetes' default_preemption_test.go."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.types import core_v1, policy_v1
from kubelite.scheduler.algorithm import Algorithm, FitError
from kubelite.scheduler.cache import NodeInfo
from kubelite.scheduler.plugins import default_preemption as dp
from tests.unit.scheduler.builders import make_node, make_pod, snapshot


def prio_pod(name: str, cpu: str, priority: int, node: str | None = None, start: str = "",
             **kw: Any) -> core_v1.Pod:
    p = make_pod(name, cpu=cpu, node=node, priority=priority, **kw)
    if start:
        p.status = core_v1.PodStatus(start_time=start)
    return p


def fits_cpu(pod: core_v1.Pod) -> dp.Fits:
    algo = Algorithm()
    from kubelite.scheduler.framework import CycleState

    def check(info: NodeInfo) -> bool:
        state = CycleState(snapshot([info.node]))
        algo._pre_filter(state, pod)
        return algo.run_filters(state, pod, info).is_success
    return check


def pdb(name: str, labels: dict[str, str], allowed: int) -> policy_v1.PodDisruptionBudget:
    return msgspec.convert({"metadata": {"name": name, "namespace": "default"},
                            "spec": {"selector": {"matchLabels": labels}},
                            "status": {"disruptionsAllowed": allowed, "currentHealthy": 1,
                                       "desiredHealthy": 1, "expectedPods": 1}},
                           policy_v1.PodDisruptionBudget)


def test_evicts_only_the_lowest_priority_pods_needed() -> None:
    node = make_node("n1", cpu="4")
    pods = [prio_pod("low", "1", 1, "n1"), prio_pod("mid", "1", 5, "n1"),
            prio_pod("big", "2", 3, "n1")]
    info = snapshot([node], pods).nodes[0]
    pre = prio_pod("pre", "2", 10)
    c = dp.select_victims_on_node(pre, info, fits_cpu(pre))
    assert c is not None
    assert [v.metadata.name for v in c.victims] == ["big"]  # type: ignore[union-attr]


def test_no_candidate_when_higher_priority_pods_fill_the_node() -> None:
    info = snapshot([make_node("n1", cpu="2")], [prio_pod("vip", "2", 100, "n1")]).nodes[0]
    pre = prio_pod("pre", "1", 10)
    assert dp.select_victims_on_node(pre, info, fits_cpu(pre)) is None


def test_pdb_protected_pod_is_reprieved_first() -> None:
    info = snapshot([make_node("n1", cpu="2")],
                    [prio_pod("a", "1", 1, "n1", labels={"app": "a"}),
                     prio_pod("b", "1", 1, "n1", labels={"app": "b"})]).nodes[0]
    pre = prio_pod("pre", "1", 10)
    c = dp.select_victims_on_node(pre, info, fits_cpu(pre), [pdb("pa", {"app": "a"}, 0)])
    assert c is not None and c.pdb_violations == 0
    assert [v.metadata.name for v in c.victims] == ["b"]  # type: ignore[union-attr]


def test_pick_one_node_in_kubernetes_order() -> None:
    def victims(*prios: int, start: str = "2024-01-01T00:00:00Z") -> list[core_v1.Pod]:
        return [prio_pod(f"v{i}", "1", p, start=start) for i, p in enumerate(prios)]
    # fewest PDB violations wins over everything
    assert dp.pick_one_node([dp.Candidate("a", victims(1), 1),
                             dp.Candidate("b", victims(9, 9), 0)]).node == "b"  # type: ignore[union-attr]
    # then the lowest highest-priority victim
    assert dp.pick_one_node([dp.Candidate("a", victims(5)),
                             dp.Candidate("b", victims(3, 3))]).node == "b"  # type: ignore[union-attr]
    # then the smallest sum of priorities, then the fewest victims
    assert dp.pick_one_node([dp.Candidate("a", victims(3, 3)),
                             dp.Candidate("b", victims(3, 1))]).node == "b"  # type: ignore[union-attr]
    assert dp.pick_one_node([dp.Candidate("a", victims(3, -1, 1)),
                             dp.Candidate("b", victims(3, 0))]).node == "b"  # type: ignore[union-attr]
    # then the node whose highest-priority victims started last
    assert dp.pick_one_node([
        dp.Candidate("a", victims(3, start="2024-01-01T00:00:00Z")),
        dp.Candidate("b", victims(3, start="2024-06-01T00:00:00Z"))]).node == "b"  # type: ignore[union-attr]
    # a node needing no victims at all is taken at once
    assert dp.pick_one_node([dp.Candidate("a", victims(1)), dp.Candidate("b")]).node == "b"  # type: ignore[union-attr]


def _fit(pre: core_v1.Pod, snap: Any) -> FitError:
    try:
        Algorithm().schedule(pre, snap)
    except FitError as e:
        return e
    raise AssertionError("the pod fit")


def test_algorithm_preempts_on_the_full_node() -> None:
    snap = snapshot([make_node("n1", cpu="2")], [prio_pod("low", "2", 0, "n1")])
    pre = prio_pod("pre", "1", 1000)
    fit = _fit(pre, snap)
    chosen = Algorithm().preempt(fit, snap)
    assert chosen is not None and chosen.node == "n1"
    assert [v.metadata.name for v in chosen.victims] == ["low"]  # type: ignore[union-attr]
    assert fit.message == "0/1 nodes are available: 1 Insufficient cpu."


def test_preemption_policy_never_does_not_preempt() -> None:
    snap = snapshot([make_node("n1", cpu="2")], [prio_pod("low", "2", 0, "n1")])
    pre = prio_pod("pre", "1", 1000, preemptionPolicy="Never")
    fit = _fit(pre, snap)
    assert Algorithm().preempt(fit, snap) is None
    assert fit.message.endswith("preemption: not eligible due to preemptionPolicy=Never.")


def test_no_victims_message() -> None:
    snap = snapshot([make_node("n1", cpu="2")], [prio_pod("vip", "2", 5000, "n1")])
    fit = _fit(prio_pod("pre", "1", 1000), snap)
    assert Algorithm().preempt(fit, snap) is None
    assert fit.message == ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes "
                           "are available: 1 No preemption victims found for incoming pod.")
