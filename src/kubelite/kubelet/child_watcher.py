"""Subprocess exits noticed through pidfds on the event loop, not a thread per child.

Python 3.11's default child watcher starts a thread for every subprocess and parks it in
waitpid(). The agent runs conmon, runc and CNI plugins for every container, so 110 pods
meant hundreds of short-lived threads fighting for the GIL; with `PidfdChildWatcher`
(Linux 5.3+) each child is one more file descriptor in the loop's epoll set, which halves
the agent's CPU per subprocess.

`install()` puts it in place for the running loop (counted, so several agents in one
process share it); `release()` puts the previous watcher back after the last one. Putting it
back closes the pidfd watcher (asyncio's policy closes the watcher it replaces), and a plain
PidfdChildWatcher then drops the children it still waits for: their `wait()` never returned,
which is how `kubelite up` hung on Ctrl-C (the API server's controller-manager child, started
while the agent's watcher was in place, was never seen to exit). `_LingeringPidfdWatcher`
keeps watching those children until the last one has exited.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from typing import Any

_installed: dict[asyncio.AbstractEventLoop, tuple[Any, Any, int]] = {}  # watcher, previous, n


class _LingeringPidfdWatcher(asyncio.PidfdChildWatcher):
    """A pidfd watcher whose `close()` lets the children it waits for finish first: each
    still gets its exit code through its loop, and the watcher detaches after the last.
    (Python 3.12's PidfdChildWatcher keeps no state and closes as a no-op: so does this.)"""

    _closing = False

    def _pending(self) -> bool:
        return bool(getattr(self, "_callbacks", None))

    def close(self) -> None:
        self._closing = True
        if not self._pending():
            super().close()

    def _do_wait(self, pid: int, *rest: Any) -> None:
        super()._do_wait(pid, *rest)  # type: ignore[misc]
        if self._closing and not self._pending():
            super().close()


def pidfd_supported() -> bool:
    """Whether this kernel and Python offer pidfd_open."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


def install() -> bool:
    """Watch this loop's subprocesses through pidfds; False (nothing changed) when the host
    cannot."""
    loop = asyncio.get_running_loop()
    entry = _installed.get(loop)
    if entry is not None:
        _installed[loop] = (entry[0], entry[1], entry[2] + 1)
        return True
    if not pidfd_supported():
        return False
    with warnings.catch_warnings():  # child watchers are deprecated from 3.12 on
        warnings.simplefilter("ignore", DeprecationWarning)
        previous = asyncio.get_child_watcher()
        watcher = _LingeringPidfdWatcher()
        watcher.attach_loop(loop)
        asyncio.set_child_watcher(watcher)
    _installed[loop] = (watcher, previous, 1)
    return True


def release() -> None:
    """Undo one `install()` on this loop; the last one restores the previous watcher.
    Children still running keep their pidfd handlers until they exit."""
    loop = asyncio.get_running_loop()
    entry = _installed.pop(loop, None)
    if entry is None:
        return
    watcher, previous, count = entry
    if count > 1:
        _installed[loop] = (watcher, previous, count - 1)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if asyncio.get_child_watcher() is watcher:
            asyncio.set_child_watcher(previous)
