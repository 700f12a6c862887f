"""The runc driver under conmon: exit codes, logs, OOM, adoption after a restart."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from kubelite.runtime import cgroups
from kubelite.runtime.oci import (
    ContainerNotFoundError,
    OciError,
    OciRuntime,
    RuntimeUnavailableError,
)
from kubelite.runtime.spec import Resources, build_spec

from .conftest import Node

CRI_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d (stdout|stderr) (F|P) (.*)$"
)


async def test_exit_code_and_cri_logs(node: Node) -> None:
    cfg = node.config(["sh", "-c", "echo out-line; echo err-line >&2; printf partial; exit 3"])
    state, log = await node.run_to_end("exit3", cfg)
    assert state.status == "stopped"
    assert state.exit_code == 3
    assert not state.oom_killed
    assert state.started_at and state.finished_at and state.finished_at >= state.started_at
    entries = [CRI_LINE.match(line).groups() for line in log.splitlines()]  # type: ignore[union-attr]
    assert ("stdout", "F", "out-line") in entries
    assert ("stderr", "F", "err-line") in entries
    assert ("stdout", "P", "partial") in entries


async def test_state_survives_a_new_driver_and_list_adopts_running(node: Node) -> None:
    await node.run("done", node.config(["sh", "-c", "exit 3"], cid="done"))
    await node.run("alive", node.config(["sleep", "1000"], cid="alive"))
    await node.runtime.wait("done")

    restarted = OciRuntime("runc", node.runtime.state_root)  # the agent came back
    states = {s.id: s for s in await restarted.list()}
    assert states["done"].status == "stopped"
    assert states["done"].exit_code == 3
    assert states["alive"].status == "running"
    assert states["alive"].pid > 0
    assert states["alive"].log_path.endswith("alive.log")

    await restarted.kill("alive", "KILL")
    final = await restarted.wait("alive")
    assert final.exit_code == 137
    assert not final.oom_killed


async def test_oom_kill_is_reported_and_sigterm_is_not(node: Node) -> None:
    limit = Resources(memory_limit=64 * 1024 * 1024)
    cfg = node.config(
        ["sh", "-c", "exec dd if=/dev/zero of=/dev/null bs=200M count=1"],
        cid="oom",
        resources=limit,
    )
    oom, _ = await node.run_to_end("oom", cfg)
    assert (oom.exit_code, oom.oom_killed) == (137, True)

    # The next instance of the same container starts with a clean OOM record.
    again = node.config(["sh", "-c", "trap 'exit 143' TERM; sleep 1000 & wait"], cid="oom2",
                        resources=limit)  # fmt: skip
    await node.run("oom2", again)
    await _wait_for_child(node, "oom2")
    await node.runtime.kill("oom2", "TERM")
    term = await node.runtime.wait("oom2")
    assert (term.exit_code, term.oom_killed) == (143, False)


async def _wait_for_child(node: Node, cid: str) -> None:
    """Wait until the container's shell has started its child (so the trap is set)."""
    st = await node.runtime.state(cid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        children = open(f"/proc/{st.pid}/task/{st.pid}/children").read().split()
        if children:
            return
        time.sleep(0.01)
    raise AssertionError("the container's child never started")


async def test_stats_from_the_container_cgroup(node: Node) -> None:
    cfg = node.config(["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000 & wait"],
                      cid="busy", resources=Resources(pids_limit=50))  # fmt: skip
    await node.run("busy", cfg)
    deadline = time.monotonic() + 60  # polls: a loaded machine only makes it take longer
    stats = node.runtime.stats("busy")
    while (stats.cpu_usage_ns < 10_000_000 or stats.pids < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
        stats = node.runtime.stats("busy")
    assert stats.cpu_usage_ns >= 10_000_000
    assert stats.memory_working_set > 0
    assert stats.pids == 2  # the shell and sleep
    path = cfg.cgroups_path
    pids_dir = next(h.mountpoint for h in cgroups.hierarchies() if "pids" in h.controllers)
    assert open(f"{pids_dir}{path}/pids.max").read().strip() == "50"


async def test_force_delete_is_fast_and_removes_state_and_leaf_cgroup(node: Node) -> None:
    cfg = node.config(["sleep", "1000"], cid="victim")
    await node.run("victim", cfg)
    mem = next(h.mountpoint for h in cgroups.hierarchies() if "memory" in h.controllers)
    assert os.path.isdir(mem + cfg.cgroups_path)
    t = time.monotonic()
    await node.runtime.delete("victim", force=True)
    assert time.monotonic() - t < 10  # SIGKILL at once, not a stop's grace period
    assert not os.path.exists(mem + cfg.cgroups_path)
    assert await node.runtime.list() == []
    await node.runtime.delete("victim", force=True)  # again: not an error
    with pytest.raises(ContainerNotFoundError):
        await node.runtime.state("victim")


async def test_create_failure_carries_runc_message_and_leaves_nothing(node: Node) -> None:
    cfg = node.config(["no-such-binary"], cid="bad")
    with pytest.raises(OciError, match="no-such-binary"):
        await node.runtime.create(
            "bad", str(node.base / "b"), build_spec(cfg), str(node.base / "l")
        )
    assert await node.runtime.list() == []


async def test_crun_refuses_hybrid_cgroups_with_a_clear_message(tmp_path: Path) -> None:
    if not cgroups.unified_controllers_on_hybrid():
        OciRuntime("crun", str(tmp_path))  # nothing to refuse on this host layout
        return
    with pytest.raises(RuntimeUnavailableError, match="hybrid cgroups.*hugetlb"):
        OciRuntime("crun", str(tmp_path))


async def test_waiting_on_a_running_container_does_not_run_the_runtime(node: Node) -> None:
    """`wait` polls conmon's exit file; while conmon lives it never asks runc (which cost a
    subprocess per container every 2 s)."""
    import asyncio

    await node.run("waited", node.config(["sleep", "30"], cid="waited"))
    calls: list[tuple[str, ...]] = []
    real_run = node.runtime._run

    async def counting_run(*args: str) -> tuple[int, bytes, bytes]:
        calls.append(args)
        return await real_run(*args)

    node.runtime._run = counting_run  # type: ignore[method-assign]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(node.runtime.wait("waited"), 4.5)
    assert calls == []
    node.runtime._run = real_run  # type: ignore[method-assign]
    await node.runtime.kill("waited", 9)
    state = await asyncio.wait_for(node.runtime.wait("waited"), 10)
    assert state.status == "stopped" and state.exit_code == 137


async def test_a_long_wait_polls_slower(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    """After its first seconds (shortened here) a wait reads the exit file every 0.5 s."""
    import asyncio

    from kubelite.runtime import oci

    monkeypatch.setattr(oci, "FAST_WAIT_SECONDS", 0.3)
    await node.run("slow", node.config(["sleep", "30"], cid="slow"))
    reads: list[float] = []
    real = node.runtime._read_exit

    def counting(cid: str) -> tuple[int | None, float | None]:
        reads.append(time.monotonic())
        return real(cid)

    monkeypatch.setattr(node.runtime, "_read_exit", counting)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(node.runtime.wait("slow"), 2.3)
    assert len(reads) <= 3 + 5, reads  # ~3 fast reads, then one per 0.5 s (was 23)
    await node.runtime.kill("slow", 9)
