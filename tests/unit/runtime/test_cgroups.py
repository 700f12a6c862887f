"""Cgroup layout detection, the per-cluster pod tree, and stats."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from kubelite.runtime import cgroups

V1_LINE = "30 25 0:26 / /sys/fs/cgroup/{c} rw,relatime shared:9 - cgroup cgroup rw,{c}\n"
V2_LINE = "35 25 0:30 / {m} rw,relatime shared:14 - cgroup2 cgroup2 rw\n"


def mountinfo(tmp_path: Path, text: str) -> list[cgroups.Hierarchy]:
    path = tmp_path / "mountinfo"
    path.write_text(text)
    return cgroups.hierarchies(str(path))


def test_detect_layout(tmp_path: Path) -> None:
    v1 = "".join(V1_LINE.format(c=c) for c in ("memory", "cpu", "pids"))
    assert cgroups.detect_layout(mountinfo(tmp_path, v1)) == "v1"
    assert cgroups.detect_layout(mountinfo(tmp_path, V2_LINE.format(m="/sys/fs/cgroup"))) == "v2"
    hybrid = v1 + V2_LINE.format(m="/sys/fs/cgroup/unified")
    assert cgroups.detect_layout(mountinfo(tmp_path, hybrid)) == "hybrid"
    # And this machine, as measured in the research notes.
    assert cgroups.detect_layout() == "hybrid"


def test_pod_paths_follow_the_kubelet_layout() -> None:
    tree = cgroups.PodCgroups("kubelite-x")
    assert tree.container_path("Guaranteed", "u1", "c") == "/kubelite-x/kubepods/podu1/c"
    assert tree.container_path("Burstable", "u1", "c") == "/kubelite-x/kubepods/burstable/podu1/c"
    assert tree.pod_path("BestEffort", "u2") == "/kubelite-x/kubepods/besteffort/podu2"
    with pytest.raises(ValueError):
        cgroups.PodCgroups("../etc")


def test_tree_is_created_and_removed_in_every_hierarchy_with_stats() -> None:
    tree = cgroups.PodCgroups(f"kubelite-test-{uuid.uuid4().hex[:6]}")
    leaf = tree.container_path("Burstable", "u1", "c")
    hiers = cgroups.hierarchies()
    proc = None
    try:
        tree.ensure_root()
        cgroups.create_path(leaf)
        assert all(os.path.isdir(h.mountpoint + leaf) for h in hiers)
        # The process waits for a line, so all its work (and memory) is charged after the move.
        script = "read x; i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; exec sleep 100"
        proc = subprocess.Popen(["sh", "-c", script], stdin=subprocess.PIPE)
        for h in hiers:
            if h.controllers and set(h.controllers) & {"memory", "cpuacct", "pids"}:
                Path(h.mountpoint + leaf, "cgroup.procs").write_text(str(proc.pid))
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        deadline = time.monotonic() + 5
        while cgroups.read_stats(leaf).cpu_usage_ns < 5_000_000 and time.monotonic() < deadline:
            time.sleep(0.02)
        stats = cgroups.read_stats(leaf)
        assert stats.cpu_usage_ns >= 5_000_000
        assert stats.pids >= 1
        assert stats.memory_usage > 0
        assert 0 < stats.memory_working_set <= stats.memory_usage
        assert stats.oom_kills == 0
    finally:
        if proc:
            proc.kill()
            proc.wait()
        tree.remove_root()
    assert not tree.exists()
    assert not any(os.path.exists(h.mountpoint + tree.root) for h in hiers)


def test_this_machines_hierarchies_are_read_once_for_a_while(monkeypatch: Any) -> None:
    """mountinfo grows with every container: it is not parsed again for each pod."""
    reads: list[str] = []
    real = cgroups._read_hierarchies

    def counting(path: str) -> list[cgroups.Hierarchy]:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(cgroups, "_read_hierarchies", counting)
    cgroups.forget_hierarchies()
    first = cgroups.hierarchies()
    assert cgroups.hierarchies() == first and len(reads) == 1
    cgroups.forget_hierarchies()
    cgroups.hierarchies()
    assert len(reads) == 2
