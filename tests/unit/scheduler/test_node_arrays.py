"""The array fast path decides exactly what the per-node plugins decide, and stays in step."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from kubelite.scheduler.algorithm import Algorithm, FitError
from kubelite.scheduler.cache import SchedulerCache
from kubelite.scheduler.node_arrays import NodeArrays
from tests.unit.scheduler.builders import make_node, make_pod, snapshot

ZONE = "topology.kubernetes.io/zone"
TAINTS = [None, [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}],
          [{"key": "spot", "effect": "PreferNoSchedule"}],
          [{"key": "gpu", "value": "yes", "effect": "NoSchedule"},
           {"key": "spot", "effect": "PreferNoSchedule"}]]


def _cluster(rng: random.Random, count: int) -> tuple[list[Any], list[Any]]:
    nodes, pods = [], []
    for i in range(count):
        labels = {ZONE: f"z{rng.randrange(3)}"} if rng.random() < 0.9 else {}
        if rng.random() < 0.3:
            labels["disk"] = "ssd"
        if rng.random() < 0.5:
            labels["rank"] = str(rng.randrange(8))
        nodes.append(make_node(f"n{i}", cpu=rng.choice(["1", "2", "4"]),
                               memory=rng.choice(["1Gi", "4Gi"]), pods=rng.choice([2, 5, 110]),
                               labels=labels, taints=rng.choice(TAINTS),
                               unschedulable=rng.random() < 0.1))
        for j in range(rng.randrange(3)):
            pods.append(make_pod(f"old-{i}-{j}", cpu=rng.choice(["100m", "700m", None]),
                                 memory=rng.choice(["100Mi", "900Mi", None]), node=f"n{i}",
                                 labels={"app": rng.choice(["web", "db"])}))
    return nodes, pods


def _pod(rng: random.Random, i: int) -> Any:
    spec: dict[str, Any] = {}
    if rng.random() < 0.5:
        spec["tolerations"] = [rng.choice([{"key": "gpu", "operator": "Exists"},
                                           {"key": "spot", "operator": "Exists"},
                                           {"operator": "Exists"}])]
    if rng.random() < 0.4:
        spec["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}}}]
    if rng.random() < 0.2:
        spec["nodeSelector"] = {"disk": "ssd"}
    exprs = [{"key": ZONE, "operator": "In", "values": ["z0", "z1"]},
             {"key": ZONE, "operator": "NotIn", "values": ["z0"]},
             {"key": "disk", "operator": "Exists"}, {"key": "disk", "operator": "DoesNotExist"},
             {"key": "rank", "operator": "Gt", "values": ["3"]}]
    affinity: dict[str, Any] = {}
    if rng.random() < 0.3:
        affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
            {"matchExpressions": rng.sample(exprs, rng.randrange(1, 3))}
            for _ in range(rng.randrange(1, 3))]}
    if rng.random() < 0.4:
        affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": rng.randrange(1, 100), "preference": {"matchExpressions": [rng.choice(exprs)]}}
            for _ in range(rng.randrange(1, 3))]
    if affinity:
        spec["affinity"] = {"nodeAffinity": affinity}
    return make_pod(f"p{i}", cpu=rng.choice(["200m", "900m", "3", None]),
                    memory=rng.choice(["200Mi", "2Gi", None]), labels={"app": "web"}, **spec)


@pytest.mark.parametrize("seed", range(40))
def test_fast_path_matches_per_node_plugins(seed: int) -> None:
    rng = random.Random(seed)
    nodes, pods = _cluster(rng, rng.randrange(1, 40))
    for i in range(5):
        pod = _pod(rng, i)
        reports = {r.node: r for r in Algorithm().explain(pod, snapshot(nodes, pods))}
        feasible = {name: r.total for name, r in reports.items() if r.feasible}
        try:
            result = Algorithm().schedule(pod, snapshot(nodes, pods))
        except FitError as e:
            assert not feasible
            got = {n: (s.plugin, s.reasons) for n, s in e.diagnosis.node_status.items()}
            assert got == {n: (r.plugin, r.reasons) for n, r in reports.items()}
            continue
        assert result.feasible_nodes == len(feasible)
        if len(feasible) > 1:
            assert result.scores == feasible
            assert feasible[result.node] == max(feasible.values())
        else:
            assert result.node in feasible


def test_cache_keeps_arrays_in_step_with_pods_and_nodes() -> None:
    cache = SchedulerCache()
    for i in range(4):
        cache.add_node(make_node(f"n{i}", labels={ZONE: f"z{i % 2}"}))
    arrays = cache.snapshot().arrays
    pod = make_pod("a", cpu="500m", memory="1Gi")
    cache.assume_pod(pod, "n2")
    assert cache.snapshot().arrays is arrays  # updated in place, not rebuilt
    assert arrays.req_cpu.tolist() == [0, 0, 500, 0]
    assert arrays.nz_mem[2] == 1024 ** 3 and arrays.pod_count.tolist() == [0, 0, 1, 0]
    cache.update_node(make_node("n1", cpu="2", unschedulable=True,
                                taints=[{"key": "k", "effect": "NoSchedule"}]))
    assert arrays.alloc_cpu[1] == 2000 and arrays.unschedulable[1]
    assert arrays.taint_sets[int(arrays.filter_taint_id[1])][0].key == "k"
    assert arrays.label_column(ZONE)[0][1] == -1  # labels changed: the column is rebuilt
    cache.forget_pod(pod)
    assert arrays.req_cpu.tolist() == [0, 0, 0, 0]
    cache.add_node(make_node("n9"))
    fresh = cache.snapshot().arrays
    assert fresh is not arrays and len(fresh.nodes) == 5
    rebuilt = NodeArrays(cache.node_list())
    for name in ("alloc_cpu", "req_cpu", "pod_count", "unschedulable", "filter_taint_id"):
        assert np.array_equal(getattr(fresh, name), getattr(rebuilt, name))


def test_label_column_codes_missing_labels_as_minus_one() -> None:
    snap = snapshot([make_node("a", labels={ZONE: "z1"}), make_node("b"),
                     make_node("c", labels={ZONE: "z1"})])
    codes, vocab = snap.arrays.label_column(ZONE)
    assert codes.tolist() == [0, -1, 0] and vocab == {"z1": 0}
