"""Pod cgroup limits, oom_score_adj by QoS, and the files written for cgroup v1 and v2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubelite.kubelet.pod_resources import (
    PodLimits,
    apply_limits,
    cgroup_files,
    memory_bytes,
    oom_score_adj,
    pod_limits,
)
from kubelite.runtime.cgroups import Hierarchy

GI = 1024**3


def pod(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = init
    return {"metadata": {"uid": "u1"}, "spec": spec}


def c(requests: dict[str, str] | None = None, limits: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": "c", "resources": {"requests": requests or {}, "limits": limits or {}}}


def test_pod_limits_sum_containers_and_need_every_container_limited() -> None:
    both = pod(c({"cpu": "250m"}, {"cpu": "500m", "memory": "64Mi"}),
               c({"cpu": "250m"}, {"cpu": "1", "memory": "64Mi"}))
    assert pod_limits(both, pids_limit=100) == PodLimits(
        cpu_shares=512, cpu_quota=150_000, memory_limit=128 * 1024**2, pids_limit=100)
    one_unlimited = pod(c({"cpu": "100m"}, {"cpu": "500m"}), c())
    assert pod_limits(one_unlimited) == PodLimits(cpu_shares=102)
    assert pod_limits(pod(c())) == PodLimits(cpu_shares=2)


def test_init_container_counts_when_larger() -> None:
    p = pod(c({"cpu": "100m"}, {"memory": "10Mi"}), init=[c({"cpu": "2"}, {"memory": "1Gi"})])
    limits = pod_limits(p)
    assert limits.cpu_shares == 2048
    assert limits.memory_limit == GI


def test_oom_score_adj_by_qos_class() -> None:
    assert oom_score_adj(pod(), c(), "Guaranteed", 8 * GI) == -997
    assert oom_score_adj(pod(), c(), "BestEffort", 8 * GI) == 1000
    assert oom_score_adj(pod(), c({"memory": "4Gi"}), "Burstable", 8 * GI) == 500
    assert oom_score_adj(pod(), c({"memory": "8Gi"}), "Burstable", 8 * GI) == 3
    assert oom_score_adj(pod(), c({"cpu": "1"}), "Burstable", 8 * GI) == 999
    critical = {"spec": {"priority": 2_000_001_000}}
    assert oom_score_adj(critical, c(), "BestEffort", 8 * GI) == -997


def test_cgroup_files_v1_and_v2() -> None:
    limits = PodLimits(cpu_shares=1024, cpu_quota=50_000, memory_limit=GI, pids_limit=64)
    assert cgroup_files(limits, 1)[("cpu", "cpu.cfs_quota_us")] == "50000"
    assert cgroup_files(limits, 1)[("memory", "memory.limit_in_bytes")] == str(GI)
    v2 = cgroup_files(limits, 2)
    assert v2[("cpu", "cpu.max")] == "50000 100000"
    assert v2[("cpu", "cpu.weight")] == "39"
    assert v2[("pids", "pids.max")] == "64"
    assert cgroup_files(PodLimits(), 2)[("memory", "memory.max")] == "max"


def test_apply_limits_writes_only_where_the_controller_is(tmp_path: Path) -> None:
    hiers = [Hierarchy(str(tmp_path / "cpu"), 1, ("cpu",)),
             Hierarchy(str(tmp_path / "memory"), 1, ("memory",)),
             Hierarchy(str(tmp_path / "systemd"), 1, ())]
    apply_limits("/kl/kubepods/podu1", PodLimits(cpu_shares=512, memory_limit=GI), hiers)
    base = "kl/kubepods/podu1"
    assert (tmp_path / "cpu" / base / "cpu.shares").read_text() == "512"
    assert (tmp_path / "cpu" / base / "cpu.cfs_quota_us").read_text() == "-1"
    assert (tmp_path / "memory" / base / "memory.limit_in_bytes").read_text() == str(GI)
    assert not (tmp_path / "memory" / base / "cpu.shares").exists()
    assert (tmp_path / "systemd" / base).is_dir() and not list((tmp_path / "systemd" / base).iterdir())


def test_memory_bytes() -> None:
    assert memory_bytes({"memory": "1024Ki"}) == 1024 * 1024
    assert memory_bytes({}) == 0


def test_oom_score_adj_floor_follows_cap_sys_resource(tmp_path: Path) -> None:
    from kubelite.kubelet.pod_resources import lowest_settable_oom_score_adj

    status, adj = tmp_path / "status", tmp_path / "oom_score_adj"
    adj.write_text("0\n")
    status.write_text("Name:\tx\nCapEff:\t000001ffffffffff\n")
    assert lowest_settable_oom_score_adj(str(status), str(adj)) == -1000
    status.write_text("Name:\tx\nCapEff:\t000001fffeffffff\n")  # no CAP_SYS_RESOURCE
    assert lowest_settable_oom_score_adj(str(status), str(adj)) == 0
