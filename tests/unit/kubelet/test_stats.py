"""CPU rates from cumulative counters and the Summary document, with fake cgroups and /proc."""

from __future__ import annotations

from pathlib import Path

from kubelite.kubelet.stats import (
    ContainerRef,
    CpuRates,
    NodeSample,
    PodRef,
    StatsProvider,
    read_node_sample,
)
from kubelite.runtime.cgroups import CgroupStats


def test_cpu_rates_need_a_window_and_survive_counter_resets() -> None:
    rates = CpuRates(min_window=1.0)
    assert rates.observe("a", 0.0, 0) is None
    assert rates.observe("a", 0.5, 400_000_000) is None  # too short: no rate yet
    assert rates.observe("a", 2.0, 1_000_000_000) == 500_000_000  # half a core
    assert rates.observe("a", 2.1, 1_050_000_000) == 500_000_000  # last known
    assert rates.observe("a", 3.0, 10) is None  # a new instance: start over
    rates.forget_except(set())
    assert not rates.known("a")


class FakeCgroups:
    def __init__(self) -> None:
        self.cpu = {"/c1": 0, "/c2": 0}

    def __call__(self, path: str) -> CgroupStats:
        if path not in self.cpu:
            return CgroupStats()
        return CgroupStats(cpu_usage_ns=self.cpu[path], memory_usage=100 << 20,
                           memory_working_set=60 << 20, pids=1)


def test_summary_has_pods_containers_and_node_with_rates() -> None:
    now = [0.0]
    cg = FakeCgroups()
    node_cpu = [0]
    pods = [PodRef("web", "default", "u1", "2025-01-01T00:00:00Z",
                   [ContainerRef("a", "/c1"), ContainerRef("b", "/c2")]),
            PodRef("gone", "default", "u2", containers=[ContainerRef("x", "/missing")])]
    provider = StatsProvider(
        "n1", lambda: pods, read_cgroup=cg,
        read_node=lambda: NodeSample(node_cpu[0], 8 << 30, 6 << 30, 5 << 30), clock=lambda: now[0])
    first = provider.sweep()
    assert "usageNanoCores" not in first["node"]["cpu"]
    now[0] = 2.0
    cg.cpu["/c1"] = 1_000_000_000  # 0.5 core over 2 s
    cg.cpu["/c2"] = 200_000_000
    node_cpu[0] = 3_000_000_000
    doc = provider.sweep()
    assert doc["node"]["nodeName"] == "n1"
    assert doc["node"]["cpu"]["usageNanoCores"] == 1_500_000_000
    assert doc["node"]["memory"]["workingSetBytes"] == 2 << 30
    assert doc["node"]["memory"]["availableBytes"] == 6 << 30
    assert [p["podRef"]["name"] for p in doc["pods"]] == ["web"]  # no running container: left out
    web = doc["pods"][0]
    assert [c["cpu"]["usageNanoCores"] for c in web["containers"]] == [500_000_000, 100_000_000]
    assert web["cpu"]["usageNanoCores"] == 600_000_000
    assert web["memory"]["workingSetBytes"] == 120 << 20


def test_read_node_sample_from_proc(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu  100 0 50 1000 20 0 10 0 0 0\ncpu0 1 2 3\nbtime 1700000000\n")
    (tmp_path / "meminfo").write_text("MemTotal:       1000 kB\nMemFree:         200 kB\n"
                                      "MemAvailable:    600 kB\n")
    sample = read_node_sample(str(tmp_path))
    assert sample.cpu_usage_ns == 160 * 10_000_000  # user+system+softirq ticks at 100 Hz
    assert (sample.memory_total, sample.memory_free, sample.memory_available) == (
        1000 * 1024, 200 * 1024, 600 * 1024)
