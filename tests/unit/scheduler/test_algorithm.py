"""The cycle: FailedScheduling text as kube-scheduler writes it, sampling, tie-breaks."""

from __future__ import annotations

import random

import pytest

from kubelite.scheduler import _quantity
from kubelite.scheduler.algorithm import Algorithm, FitError
from tests.unit.scheduler.builders import make_node, make_pod, snapshot


def test_fit_error_counts_sorted_like_kube_scheduler() -> None:
    nodes = [make_node(f"s{i}", cpu="1", labels={"disk": "ssd"}) for i in range(2)]
    nodes += [make_node(f"h{i}", cpu="8", labels={"disk": "hdd"}) for i in range(3)]
    pod = make_pod("p", cpu="2", nodeSelector={"disk": "ssd"})
    with pytest.raises(FitError) as e:
        Algorithm().schedule(pod, snapshot(nodes))
    assert str(e.value) == (
        "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) didn't match Pod's node "
        "affinity/selector. preemption: 0/5 nodes are available: 5 Preemption is not helpful "
        "for scheduling.")  # 2 cpu > the whole node's 1 cpu: evicting cannot help
    assert e.value.diagnosis.unschedulable_plugins == {"NodeAffinity", "NodeResourcesFit"}


def test_nodes_full_of_other_pods_report_no_victims() -> None:
    snap = snapshot([make_node("n", cpu="2")], [make_pod("old", cpu="1500m", node="n")])
    with pytest.raises(FitError) as e:
        Algorithm().schedule(make_pod("p", cpu="1"), snap)
    assert str(e.value) == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
        "1 No preemption victims found for incoming pod.")


def test_preemption_policy_never() -> None:
    pod = make_pod("p", cpu="2", preemptionPolicy="Never")
    with pytest.raises(FitError) as e:
        Algorithm().schedule(pod, snapshot([make_node("n", cpu="1")]))
    assert str(e.value).endswith("preemption: not eligible due to preemptionPolicy=Never.")


def test_no_nodes() -> None:
    with pytest.raises(FitError) as e:
        Algorithm().schedule(make_pod("p"), snapshot([]))
    # kube-scheduler's ErrNoNodesAvailable
    assert str(e.value) == "no nodes available to schedule pods"


def test_ties_are_broken_at_random() -> None:
    nodes = [make_node(f"n{i}") for i in range(4)]
    chosen = {Algorithm(rng=random.Random(seed)).schedule(make_pod("p"), snapshot(nodes)).node
              for seed in range(30)}
    assert len(chosen) > 1


def test_round_robin_start_moves_with_sampling() -> None:
    nodes = [make_node(f"n{i:03}") for i in range(300)]
    algo = Algorithm()
    result = algo.schedule(make_pod("p"), snapshot(nodes))
    assert result.evaluated_nodes == 144  # 300 * (50 - 300 // 125 = 48 %) // 100
    assert algo.next_start_node_index == result.evaluated_nodes % 300


def test_quantities() -> None:
    assert _quantity.milli_value("100m") == 100
    assert _quantity.milli_value("1.5") == 1500
    assert _quantity.int_value("1Ki") == 1024
    assert _quantity.int_value("1G") == 10 ** 9
    assert _quantity.int_value("2e3") == 2000
    with pytest.raises(ValueError):
        _quantity.int_value("12Qi")
    with pytest.raises(ValueError):
        _quantity.milli_value("1e999999999")  # refused at once, never computed
    assert _quantity.milli_value("1e30") == 2**63 - 1  # clamped to the int64 arrays
