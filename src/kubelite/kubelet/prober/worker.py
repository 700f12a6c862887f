"""One probe of one container instance, run every period (pkg/kubelet/prober/worker.go).

A result only changes after `failureThreshold` failures or `successThreshold` successes in a
row. Until the first change, liveness counts as success, readiness as failure and startup as
unknown. Nothing runs during `initialDelaySeconds` after the container started, liveness and
readiness wait for the startup probe to succeed, and the startup probe stops once it has.
A liveness or startup failure puts the worker on hold: the container is about to be killed,
and its next instance gets a new worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kubelite.kubelet.prober.results import Outcome, Result
from kubelite.kubelet.prober.spec import ProbeSpec

log = logging.getLogger(__name__)

INITIAL: dict[str, Result | None] = {
    "liveness": Result.SUCCESS, "readiness": Result.FAILURE, "startup": None}


@dataclass(frozen=True)
class Target:
    """The container instance a worker probes."""

    pod_uid: str
    container: str
    cid: str
    started_at: float  # wall-clock seconds when the instance started running


class ProbeWorker:
    """Probes `target` with `spec`; calls `on_change(worker)` when its result changes."""

    def __init__(self, spec: ProbeSpec, target: Target,
                 run: Callable[[], Awaitable[Outcome]],
                 on_outcome: Callable[[ProbeWorker, Outcome], None],
                 on_change: Callable[[ProbeWorker], None],
                 gate: Callable[[], bool] = lambda: True,
                 clock: Callable[[], float] = time.time) -> None:
        self.spec = spec
        self.target = target
        self.run = run
        self.on_outcome = on_outcome
        self.on_change = on_change
        self.gate = gate
        self.clock = clock
        self.result: Result | None = INITIAL[spec.kind]
        self.on_hold = False
        self.context: dict[str, Any] = {}  # what the manager needs back (the pod, the container)
        self._last: Result | None = None
        self._run_count = 0
        self._trigger = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(
                self._loop(), name=f"probe-{self.spec.kind}-{self.target.cid[:12]}")

    def trigger(self) -> None:
        """Probe now instead of at the end of the period."""
        self._trigger.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def stop_soon(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.on_hold:
            began = loop.time()
            try:
                await self.probe_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bug in one probe must not stop the others
                log.exception("probe %s of %s failed to run", self.spec.kind, self.target)
            if self.on_hold:
                return
            self._trigger.clear()
            wait = self.spec.period - (loop.time() - began)
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._trigger.wait(), wait)

    async def probe_once(self) -> bool:
        """One tick: probe if it is time; True when a probe ran."""
        if self.clock() - self.target.started_at < self.spec.initial_delay:
            return False
        if self.spec.kind == "startup" and self.result is Result.SUCCESS:
            return False
        if self.spec.kind != "startup" and not self.gate():
            return False
        outcome = await self.run()
        self.on_outcome(self, outcome)
        if outcome.result is Result.UNKNOWN:
            return True
        self.record(Result.SUCCESS if outcome.result.ok else Result.FAILURE)
        return True

    def record(self, result: Result) -> None:
        """Count a run's result against the thresholds; publish a change."""
        if result is self._last:
            self._run_count += 1
        else:
            self._last, self._run_count = result, 1
        if result is Result.FAILURE and self._run_count < self.spec.failure_threshold:
            return
        if result is Result.SUCCESS and self._run_count < self.spec.success_threshold:
            return
        if result is Result.FAILURE and self.spec.kind in ("liveness", "startup"):
            self.on_hold = True
            self._run_count = 0
        if result is not self.result or self.on_hold:
            self.result = result
            self.on_change(self)
