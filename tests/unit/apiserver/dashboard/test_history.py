"""The utilization ring: samples from kubelet Summaries, requests and limits from pod specs,
gaps, wrap-around, the series cap and the Prometheus rendering."""

from __future__ import annotations

import math
from typing import Any

from kubelite.apiserver.dashboard.history import (
    History,
    PodInfo,
    Resources,
    Sample,
    node_resources,
    pod_resources,
    samples_from,
)
from kubelite.apiserver.dashboard.service import render_prometheus

NODE = {"metadata": {"name": "n1"}, "status": {"allocatable": {"cpu": "2", "memory": "4Gi"}}}
POD = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"},
       "spec": {"nodeName": "n1", "containers": [
           {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                       "limits": {"cpu": "500m", "memory": "128Mi"}}},
           {"name": "b", "resources": {"limits": {"cpu": "1"}}}]}}
SUMMARY = {"node": {"cpu": {"usageNanoCores": 250_000_000}, "memory": {"workingSetBytes": 1 << 30}},
           "pods": [{"podRef": {"name": "web", "namespace": "default", "uid": "u1"},
                     "containers": [{"cpu": {"usageNanoCores": 5_000_000}, "memory": {"workingSetBytes": 3 << 20}},
                                    {"cpu": {"usageNanoCores": 1_000_000}, "memory": {"workingSetBytes": 1 << 20}}]},
                    {"podRef": {"name": "gone", "namespace": "default", "uid": "u2"}, "containers": []}]}


def sample(name: str, cpu: float, kind: str = "pod") -> Sample:
    return Sample(kind, "default" if kind == "pod" else "", name, cpu, cpu * 100, Resources(0.1, 0.5, 1, 2))


def test_pod_resources_sum_containers_and_a_limit_counts_only_when_every_container_sets_it() -> None:
    r = pod_resources(POD)
    assert r.cpu_request == 0.1 + 1.0  # a limit without a request defaults the request
    assert r.cpu_limit == 1.5
    assert r.memory_request == 64 << 20
    assert r.memory_limit == 0.0  # container b has no memory limit: the pod is unbounded
    assert node_resources(NODE) == Resources(2.0, 2.0, 4 << 30, 4 << 30)


def test_samples_from_summaries_leave_out_pods_the_api_no_longer_has() -> None:
    pods = {"u1": PodInfo("default", "web", "n1", pod_resources(POD), restarts=3)}
    got = list(samples_from({"n1": SUMMARY}, {"n1": NODE}, pods))
    assert [(s.kind, s.name) for s in got] == [("node", "n1"), ("pod", "web"), ("cluster", "cluster")]
    pod, cluster = got[1], got[2]
    assert math.isclose(pod.cpu, 0.006) and pod.memory == 4 << 20 and pod.node == "n1"
    # the cluster: used by the nodes, requested by the pods, allocatable as its limit; restarts
    assert (cluster.cpu, cluster.memory, cluster.restarts) == (0.25, 1 << 30, 3.0)
    assert math.isclose(cluster.resources.cpu_request, 1.1) and cluster.resources.cpu_limit == 2.0


def test_ring_keeps_the_window_marks_gaps_and_wraps() -> None:
    h = History(interval=1, window=3)
    h.record(1, [sample("a", 1)])
    h.record(2, [sample("b", 2)])  # no sample of a: a gap, not its old value
    out = h.as_json(h.get("pod", "default", "a"))  # type: ignore[arg-type]
    assert out["time"] == [1, 2] and out["cpu"] == [1.0, None]
    for t in (3, 4, 5):
        h.record(t, [sample("a", t)])
    out = h.as_json(h.get("pod", "default", "a"))  # type: ignore[arg-type]
    assert out["time"] == [3, 4, 5] and out["cpu"] == [3.0, 4.0, 5.0]
    assert h.as_json(h.get("pod", "default", "a"), since=4)["time"] == [5]  # type: ignore[arg-type]
    assert (out["cpuRequest"], out["cpuLimit"]) == (0.1, 0.5)
    assert h.get("pod", "default", "b") is None  # unseen for a whole window: dropped


def test_series_are_capped() -> None:
    h = History(interval=1, window=10, max_series=2)
    h.record(1, [sample(n, 1) for n in "abc"])
    assert sorted(s.name for s in h.all()) == ["a", "b"]


def test_prometheus_text_shows_the_last_sample_of_allowed_series_only() -> None:
    h = History(interval=1, window=10)
    h.record(1, [sample("web", 0.25), sample("n1", 1.5, kind="node"), sample('we"ird', 1)])
    text = render_prometheus(h, lambda s: s.name != "n1")
    assert 'kubelite_pod_cpu_usage_cores{namespace="default",pod="web",node=""} 0.25' in text
    assert 'kubelite_pod_cpu_limit_cores{namespace="default",pod="web",node=""} 0.5' in text
    assert 'pod="we\\"ird"' in text
    assert "kubelite_node_cpu_usage_cores{" not in text
    assert "# TYPE kubelite_node_cpu_usage_cores gauge" in text


def test_the_cluster_series_carries_restarts_into_json_and_prometheus() -> None:
    h = History(interval=1, window=10)
    h.record(1, [Sample("cluster", "", "cluster", 1.0, 2.0, Resources(0.5, 2, 1, 4), restarts=2)])
    h.record(2, [Sample("cluster", "", "cluster", 1.0, 2.0, Resources(0.5, 2, 1, 4), restarts=5)])
    series: Any = h.get("cluster", "", "cluster")
    assert h.as_json(series)["restarts"] == [2.0, 5.0]
    text = render_prometheus(h, lambda s: True)
    assert "kubelite_cluster_container_restarts 5.0" in text
    assert "kubelite_cluster_cpu_limit_cores 2.0" in text  # allocatable


def test_latest_is_none_before_any_sample() -> None:
    h = History(interval=1, window=10)
    h.record(1, [sample("a", 1)])
    series: Any = h.get("pod", "default", "a")
    assert h.latest(series) == (1.0, 100.0)
    h.record(2, [])
    assert h.latest(series) is None


def test_a_pods_series_carries_its_restarts_over_time() -> None:
    h = History(interval=1, window=10)
    info = PodInfo("default", "web", "n1", pod_resources(POD), restarts=1)
    h.record(1, list(samples_from({"n1": SUMMARY}, {"n1": NODE}, {"u1": info})))
    info = PodInfo("default", "web", "n1", pod_resources(POD), restarts=3)
    h.record(2, list(samples_from({"n1": SUMMARY}, {"n1": NODE}, {"u1": info})))
    series: Any = h.get("pod", "default", "web")
    assert h.as_json(series)["restarts"] == [1.0, 3.0]
    assert "restarts" not in h.as_json(h.get("node", "", "n1"))  # type: ignore[arg-type]
    text = render_prometheus(h, lambda s: True)
    assert 'kubelite_pod_container_restarts{namespace="default",pod="web",node="n1"} 3.0' in text


def test_a_pod_with_no_running_container_still_samples_its_restarts() -> None:
    """A crash loop's back-off leaves the pod out of its kubelet's Summary: its restarts are
    still sampled (usage unknown), so the restarts plot shows the loop."""
    pods = {"u3": PodInfo("default", "crashy", "n1", pod_resources(POD), restarts=4)}
    got = [s for s in samples_from({"n1": SUMMARY}, {"n1": NODE}, pods) if s.kind == "pod"]
    assert [(s.name, s.restarts, s.node) for s in got] == [("crashy", 4.0, "n1")]
    assert math.isnan(got[0].cpu) and math.isnan(got[0].memory)
    elsewhere = {"u3": PodInfo("default", "crashy", "n9", pod_resources(POD), restarts=4)}
    assert not [s for s in samples_from({"n1": SUMMARY}, {"n1": NODE}, elsewhere) if s.kind == "pod"]
