"""Allocatable, thresholds, memory-pressure ranking, messages, and one eviction round."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from kubelite.kubelet.eviction import (
    EvictionManager,
    PodUsage,
    config_kwargs,
    eviction_message,
    node_allocatable,
    parse_reserved,
    parse_thresholds,
    rank_for_memory,
)
from kubelite.kubelet.node import conditions
from kubelite.kubelet.stats import NodeSample

MI = 1024**2


def pod(name: str, memory_request: str | None = None, priority: int = 0) -> dict[str, Any]:
    res = {"requests": {"memory": memory_request}} if memory_request else {}
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "spec": {"priority": priority, "containers": [{"name": "app", "resources": res}]},
            "status": {"phase": "Running"}}


def test_thresholds_and_reservations_parse_in_kubelet_syntax() -> None:
    t = parse_thresholds("memory.available<100Mi,nodefs.available<10%")
    assert t["memory.available"].amount(0) == 100 * MI
    assert t["nodefs.available"].amount(1000) == 100
    assert parse_reserved("cpu=0.5, memory=1024Mi") == {"cpu": "500m", "memory": "1Gi"}
    with pytest.raises(ValueError, match="expected SIGNAL<QUANTITY"):
        parse_thresholds("memory.available>1Gi")
    with pytest.raises(ValueError):
        parse_reserved("cpu")


def test_allocatable_is_capacity_less_reservations_and_threshold() -> None:
    capacity = {"cpu": "4", "memory": "8388608Ki", "pods": "110", "ephemeral-storage": "1000000Ki"}
    alloc = node_allocatable(capacity, {"cpu": "500m", "memory": "512Mi"}, {"memory": "256Mi"},
                             parse_thresholds("memory.available<100Mi,nodefs.available<10%"))
    assert alloc["cpu"] == "3500m"
    assert alloc["memory"] == f"{8388608 - (512 + 256 + 100) * 1024}Ki"
    assert alloc["pods"] == "110"
    assert alloc["ephemeral-storage"] == "900000Ki"


def test_ranking_puts_pods_over_their_requests_first_then_priority_then_excess() -> None:
    be_small = PodUsage(pod("be-small"), 50 * MI, {"app": 50 * MI})
    be_big = PodUsage(pod("be-big"), 300 * MI, {"app": 300 * MI})
    burst_over = PodUsage(pod("burst-over", "100Mi"), 400 * MI, {"app": 400 * MI})
    burst_under = PodUsage(pod("burst-under", "1Gi"), 500 * MI, {"app": 500 * MI})
    important = PodUsage(pod("important", priority=1000), 900 * MI, {"app": 900 * MI})
    ranked = rank_for_memory([be_small, burst_under, important, be_big, burst_over])
    assert [p.pod["metadata"]["name"] for p in ranked] == [
        "be-big", "burst-over", "be-small", "important", "burst-under"]


def test_eviction_message_in_kubelet_words() -> None:
    usage = PodUsage(pod("hog", "100Mi"), 300 * MI, {"app": 300 * MI})
    msg = eviction_message(usage, parse_thresholds("memory.available<100Mi")["memory.available"],
                           80 * MI, 8 << 30)
    assert msg == ("The node was low on resource: memory. Threshold quantity: 100Mi, available: "
                   "80Mi. Container app was using 300Mi, request is 100Mi, has larger consumption "
                   "of memory. ")


def test_pressure_condition_words() -> None:
    conds = {c["type"]: c for c in conditions("t", {}, pressure={"MemoryPressure"})}
    assert conds["MemoryPressure"]["status"] == "True"
    assert conds["MemoryPressure"]["reason"] == "KubeletHasInsufficientMemory"
    assert conds["DiskPressure"]["status"] == "False"


class FakeNode:
    def __init__(self) -> None:
        self.pressure: set[str] = set()
        self.updates = 0

    def set_pressure(self, ctype: str, on: bool) -> bool:
        before = ctype in self.pressure
        (self.pressure.add if on else self.pressure.discard)(ctype)
        return before != on

    async def update_status(self) -> None:
        self.updates += 1


class FakeStats:
    def __init__(self, usage: dict[str, int]) -> None:
        self.usage = usage

    def sweep(self) -> dict[str, Any]:
        return {"pods": [{"podRef": {"uid": f"uid-{n}"},
                          "containers": [{"name": "app", "memory": {"workingSetBytes": ws}}]}
                         for n, ws in self.usage.items()]}


async def test_one_round_evicts_the_worst_pod_and_reports_pressure() -> None:
    available = [50 * MI]
    now = [0.0]
    queued: list[str] = []
    syncer = SimpleNamespace(evictions={})
    kubelet = SimpleNamespace(
        pods={p["metadata"]["uid"]: p for p in (pod("be"), pod("burst", "10Mi"), pod("g", "1Gi"))},
        node=FakeNode(), syncer=syncer, queue=SimpleNamespace(add=queued.append))
    manager = EvictionManager(kubelet, FakeStats({"be": 20 * MI, "burst": 200 * MI, "g": 500 * MI}),  # type: ignore[arg-type]
                              parse_thresholds("memory.available<100Mi"), transition_period=30,
                              read_node=lambda: NodeSample(0, 8 << 30, available[0], 0),
                              clock=lambda: now[0])
    assert await manager.synchronize() == "uid-burst"  # most above its request
    assert kubelet.node.pressure == {"MemoryPressure"}
    assert queued == ["uid-burst"]
    assert syncer.evictions["uid-burst"].startswith("The node was low on resource: memory.")
    assert await manager.synchronize() is None  # waits for that eviction to finish
    del kubelet.pods["uid-burst"]
    now[0] = 10.0
    assert await manager.synchronize() == "uid-be"
    available[0] = 4 << 30
    kubelet.pods.clear()
    now[0] = 20.0
    await manager.synchronize()
    assert kubelet.node.pressure == {"MemoryPressure"}  # within the transition period
    now[0] = 50.0
    await manager.synchronize()
    assert kubelet.node.pressure == set()


def test_agent_flags_become_config() -> None:
    import argparse

    from kubelite.kubelet.eviction import add_flags

    p = argparse.ArgumentParser()
    add_flags(p)
    args = p.parse_args(["--system-reserved", "cpu=100m", "--eviction-hard", "memory.available<1Gi",
                         "--pod-max-pids", "256"])
    assert config_kwargs(args) == {"system_reserved": {"cpu": "100m"}, "kube_reserved": {},
                                   "eviction_hard": "memory.available<1Gi", "pod_pids_limit": 256}
