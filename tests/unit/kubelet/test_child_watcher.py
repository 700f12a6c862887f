"""The agent's pidfd child watcher: subprocesses still work, no thread per child, undone."""

from __future__ import annotations

import asyncio
import threading
import warnings

from kubelite.kubelet import child_watcher


def current() -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return asyncio.get_child_watcher()


async def test_subprocesses_exit_codes_without_a_thread_per_child() -> None:
    before = current()
    assert child_watcher.install()
    try:
        assert isinstance(current(), asyncio.PidfdChildWatcher)
        threads = threading.active_count()
        procs = [await asyncio.create_subprocess_exec("sh", "-c", f"sleep 0.2; exit {i}")
                 for i in range(5)]
        assert threading.active_count() == threads  # ThreadedChildWatcher adds one per child
        assert [await p.wait() for p in procs] == [0, 1, 2, 3, 4]
    finally:
        child_watcher.release()
    assert current() is before


async def test_nested_installs_restore_only_after_the_last_release() -> None:
    before = current()
    assert child_watcher.install() and child_watcher.install()
    child_watcher.release()
    assert isinstance(current(), asyncio.PidfdChildWatcher)
    proc = await asyncio.create_subprocess_exec("true")
    assert await proc.wait() == 0
    child_watcher.release()
    assert current() is before
    child_watcher.release()  # one too many: nothing happens
    assert current() is before


async def test_children_started_before_the_release_still_report_their_exit() -> None:
    """The last release puts the previous watcher back; a child the pidfd watcher was
    waiting for still gets its exit code (else `wait()` hangs: the `kubelite up` stop hang)."""
    assert child_watcher.install()
    proc = await asyncio.create_subprocess_exec("sh", "-c", "sleep 0.3; exit 7")
    child_watcher.release()
    assert not isinstance(current(), asyncio.PidfdChildWatcher)
    assert await asyncio.wait_for(proc.wait(), 10) == 7
    later = await asyncio.create_subprocess_exec("true")  # the restored watcher works too
    assert await asyncio.wait_for(later.wait(), 10) == 0
