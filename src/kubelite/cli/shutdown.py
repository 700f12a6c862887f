"""How kubelite's long-running commands stop on SIGINT (Ctrl-C) and SIGTERM.

The first signal asks for a graceful stop: listeners close, control loops end, child
processes are stopped and reaped; the pods' containers keep running (as across a kubelet
restart) and the next start adopts them. A second signal exits at once with 128+signal
(130 after a second Ctrl-C), as Kubernetes components and k3s do. So does a stop that
overruns its grace: a watchdog thread (it runs even if the event loop is stuck) forces the
exit. A forced exit first kills the child processes the command registered, so nothing it
started outlives it.

The handlers are plain `signal.signal` ones, not the event loop's: Python runs them in the
main thread even while it waits on something other than the loop (joining the executor's
threads at the end of `asyncio.run`, say), so the second signal is never left pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable

log = logging.getLogger("kubelite.shutdown")

GRACE = 10.0  # seconds a graceful stop may take before the exit is forced
SIGNALS = (signal.SIGINT, signal.SIGTERM)
OVERDUE_EXIT = 1


class Shutdown:
    """The stop request of one process: an event set by the first signal, a forced exit on
    the second (or when the grace runs out)."""

    def __init__(self, what: str, grace: float = GRACE) -> None:
        self.what = what
        self.grace = grace
        self.requested = asyncio.Event()
        self._kill_hooks: list[Callable[[], None]] = []
        self._watchdog: threading.Timer | None = None
        self._signalled = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> Shutdown:
        self._loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            signal.signal(sig, self._on_signal)
        return self

    def on_force(self, kill: Callable[[], None]) -> None:
        """Call `kill` (it must not block) before a forced exit: to kill child processes."""
        self._kill_hooks.append(kill)

    def _on_signal(self, sig: int, _frame: object) -> None:
        name = signal.Signals(sig).name
        if self._signalled:
            log.warning("Received %s again: forcing exit", name)
            self.force(128 + sig)
        self._signalled = True
        self._arm_watchdog()
        log.info("Received %s: shutting down %s... (send it again to force exit)", name, self.what)
        assert self._loop is not None  # set by install()
        with contextlib.suppress(RuntimeError):  # the loop is closed: the process is exiting
            self._loop.call_soon_threadsafe(self.request)  # (this handler may interrupt the loop)

    def request(self) -> None:
        """Start the graceful stop."""
        self.requested.set()

    def _arm_watchdog(self) -> None:
        """Force the exit if the stop overruns its grace (a signal's stop only: a process
        that asks itself to stop, a test say, is not shot)."""
        if self._watchdog is None:
            self._watchdog = threading.Timer(self.grace, self._overdue)
            self._watchdog.daemon = True
            self._watchdog.start()

    def _overdue(self) -> None:
        log.error("%s did not stop within %.0f s: forcing exit", self.what, self.grace)
        self.force(OVERDUE_EXIT)

    def force(self, code: int) -> None:
        for kill in self._kill_hooks:
            with contextlib.suppress(Exception):
                kill()
        os._exit(code)  # log records are flushed as written; nothing else may wait

    async def serve(self, start: Callable[[], Awaitable[object]],
                    stop: Callable[[], Awaitable[None]]) -> bool:
        """Run `start`, then wait for the stop request, then run `stop`. A request that comes
        while `start` is still waiting (for the API server, a pod CIDR...) cancels it. False
        when the stop came before the start had finished."""
        starting = asyncio.ensure_future(start())
        requested = asyncio.ensure_future(self.requested.wait())
        try:
            await asyncio.wait({starting, requested}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
                return False
            starting.result()  # a failed start raises here
            await requested
            return True
        finally:
            requested.cancel()
            await stop()
