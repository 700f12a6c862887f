"""haproxy as a supervised child of the agent, in master-worker mode.

`haproxy -W -db -f CONFIG` keeps a master process in the foreground (our child) and one worker.
A reload is SIGUSR2 to the master: it re-reads the configuration, starts a new worker on the
same listening sockets (never closed, so no connection is refused) and tells the old worker to
stop softly: it stops accepting and finishes the requests it holds (for at most the
configuration's `hard-stop-after`). A configuration is checked (`haproxy -c`) before it is
put in place, so a reload never meets a file haproxy refuses. The master merges signals that
arrive while it reloads, so one reload at a time: after each signal we wait until the master's
CLI (`show proc`, on a 0600 socket) counts one more reload, and signal again if it did not.

The master never outlives the agent: it gets SIGTERM when the agent's thread that started it
dies (PR_SET_PDEATHSIG, kept across the master's re-exec on reload), workers leave when their
master does, and `stop()` ends it. If it dies on its own it is started again (after 1, 2, 5,
then 10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
BACKOFF = (1.0, 2.0, 5.0, 10.0)
RELOAD_TIMEOUT = 10.0


class ProxyError(Exception):
    """haproxy is missing or refused the configuration; the message is its words."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    if found is None:
        raise ProxyError("haproxy is not installed (Debian package haproxy)")
    return found


async def check(config: Path) -> None:
    """Raise ProxyError with haproxy's words if it refuses the configuration."""
    proc = await asyncio.create_subprocess_exec(binary(), "-c", "-q", "-f", str(config),
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise ProxyError(out.decode(errors="replace").strip() or f"haproxy -c exited {proc.returncode}")


class Haproxy:
    """One master process serving `config`; its output goes to `log_file`, its CLI is `socket`."""

    def __init__(self, config: Path, log_file: Path, socket: Path) -> None:
        self.config = config
        self.log_file = log_file
        self.socket = socket
        self._reloading = asyncio.Lock()
        self.proc: asyncio.subprocess.Process | None = None
        self.reloads = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._log: IO[bytes] | None = None

    async def _spawn(self) -> asyncio.subprocess.Process:
        if self._log is None:
            self._log = open(self.log_file, "ab")  # noqa: SIM115 - kept open while we run
        return await asyncio.create_subprocess_exec(
            binary(), "-W", "-db", "-S", f"{self.socket},mode,600", "-f", str(self.config), stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log, stderr=self._log, preexec_fn=_die_with_parent, start_new_session=True)

    async def start(self, timeout: float = 10.0) -> None:
        """Start the master; returns once it listens (its CLI answers), ProxyError with the
        end of its log if it exits first (a port in use, say)."""
        self._stopping = False
        self.proc = proc = await self._spawn()
        deadline = asyncio.get_running_loop().time() + timeout
        while await self.reloads_done() is None:
            if proc.returncode is not None or asyncio.get_running_loop().time() > deadline:
                await self.stop()
                tail = self.log_file.read_text(errors="replace").strip().splitlines()[-3:]
                raise ProxyError(f"haproxy did not start ({' / '.join(tail)})")
            await asyncio.sleep(0.05)
        self._task = asyncio.create_task(self._supervise(), name="ingress-haproxy")

    async def _supervise(self) -> None:
        failures = 0
        while not self._stopping:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._stopping:
                return
            delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
            failures += 1
            log.warning("ingress: haproxy exited with %s; starting it again in %.0f s (see %s)",
                        code, delay, self.log_file)
            await asyncio.sleep(delay)
            try:
                self.proc = await self._spawn()
            except OSError as e:
                log.warning("ingress: cannot start haproxy: %s", e)

    async def reloads_done(self) -> int | None:
        """The master's count of successful reloads (None while its CLI does not answer)."""
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(self.socket)), 2)
        except (OSError, TimeoutError):
            return None
        try:
            writer.write(b"show proc\n")
            await writer.drain()
            while line := await asyncio.wait_for(reader.readline(), 2):
                fields = line.split()
                if len(fields) > 2 and fields[1] == b"master":
                    return int(fields[2])
        except (OSError, TimeoutError, ValueError):
            return None
        finally:
            writer.close()
        return None

    async def reload(self) -> None:
        """Load the (checked) configuration again, keeping connections; returns once the master
        has (ProxyError if it never does)."""
        async with self._reloading:
            deadline = asyncio.get_running_loop().time() + RELOAD_TIMEOUT
            before = None
            while before is None:  # just started: its CLI is not up yet
                if self.pid is None:
                    return  # not running: it reads the file when it starts
                before = await self.reloads_done()
                if before is None:
                    if asyncio.get_running_loop().time() > deadline:
                        raise ProxyError("haproxy's master CLI does not answer")
                    await asyncio.sleep(0.05)
            for _attempt in range(2):
                if self.proc is None or self.proc.returncode is not None:
                    return
                self.proc.send_signal(signal.SIGUSR2)
                wait_until = asyncio.get_running_loop().time() + RELOAD_TIMEOUT / 2
                while asyncio.get_running_loop().time() < wait_until:
                    await asyncio.sleep(0.05)
                    done = await self.reloads_done()
                    if done is not None and done > before:
                        self.reloads += 1
                        return
            raise ProxyError("haproxy did not reload")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.returncode is None else None

    async def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the master (workers follow), SIGKILL its process group after `timeout`."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        proc = self.proc
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if proc is not None:  # workers of an old generation still draining
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

