"""A child process the server supervises: started, restarted if it dies (after 1, 2, 5, then
10 s; a child that ran a minute starts the delays over) unless `exited` says the exit was
final, stopped with SIGTERM then SIGKILL.

It runs in a session of its own: a Ctrl-C at the server's terminal reaches the server only,
which stops the child itself (it would otherwise see the child exit and restart it). The
child is expected to die with the server even by SIGKILL: the argv sets that up (the
controller-manager's `--exit-with-parent`, etcd's `kubelite.etcd.exec_with_parent` shim).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal

log = logging.getLogger(__name__)

RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0)  # seconds before each restart after a crash, then the last
HEALTHY_RUN = 60.0  # a child that ran this long starts the delays over when it dies
STOP_TIMEOUT = 5.0  # seconds from SIGTERM to SIGKILL: within the server's own stop grace


class SupervisedProcess:
    """Starts, supervises and stops one child process running `argv`."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0  # how many times the child was started (restarts + 1)
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name=f"{self.name}-process")

    async def _supervise(self) -> None:
        crashes = 0
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL, start_new_session=True)
            self.starts += 1
            if self._stopping.is_set():  # stop() came while it was being started
                self._terminate()
            code = await self.process.wait()
            if self._stopping.is_set():
                return
            if not self.exited(code):
                log.warning("%s exited with code %s; not restarting it", self.name, code)
                return
            if loop.time() - started >= HEALTHY_RUN:
                crashes = 0
            delay = RESTART_DELAYS[min(crashes, len(RESTART_DELAYS) - 1)]
            crashes += 1
            log.warning("%s exited with code %s; restarting it in %.0f s", self.name, code, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
                return

    def exited(self, code: int) -> bool:
        """Called when the child exited on its own (not stopped): whether to start it again."""
        return True

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def _terminate(self, sig: int = signal.SIGTERM) -> None:
        proc = self.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL the child at once, from any thread: the server is being forced out, and
        nothing it started may outlive it (a stopped child would never act on its SIGTERM)."""
        proc = self.process
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then SIGKILL if it has not exited after `timeout` seconds."""
        self._stopping.set()
        if self._supervisor is None:
            return
        self._terminate()
        done, _ = await asyncio.wait({self._supervisor}, timeout=timeout)
        if not done:
            log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
            self._terminate(signal.SIGKILL)
            await self._supervisor
