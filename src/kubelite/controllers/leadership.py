"""The controller-manager's two halves under leader election, as kube-controller-manager and
kube-scheduler each elect a leader: the controllers run while this process holds the
`kube-controller-manager` Lease in kube-system, the scheduler while it holds `kube-scheduler`.
With several `kubelite server`s on one store, one set of controllers and one scheduler act.

Both leases carry the process's one identity (`<hostname>_<uuid>`). Losing either lease ends
the process at once through `on_lost` (as kube-controller-manager and kube-scheduler exit on
"leaderelection lost"; `kubelite server` restarts its child, which then stands by). A stop
stops the loops first, then releases the leases (ReleaseOnCancel), so that a standby takes
over at once and never while this process still acts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from kubelite.client import ApiClient
from kubelite.client.events import EventRecorder
from kubelite.client.leaderelection import (
    CONTROLLER_MANAGER_LEASE,
    DEFAULT_TIMING,
    NAMESPACE,
    SCHEDULER_LEASE,
    Clock,
    LeaderElector,
    LeaseLock,
    Timing,
    identity,
)
from kubelite.controllers.manager import ControllerManager

log = logging.getLogger(__name__)

CONTROLLER_MANAGER_COMPONENT = "kube-controller-manager"  # the events' source, as Kubernetes'
SCHEDULER_COMPONENT = "default-scheduler"
EVENT_FLUSH = 2.0  # seconds a stop waits for the "stopped leading" events


class Leadership:
    """Runs `manager`'s controllers and scheduler each under its own Lease."""

    def __init__(self, manager: ControllerManager, timing: Timing = DEFAULT_TIMING, *,
                 on_lost: Callable[[str], None], identity_: str | None = None,
                 clock: Clock | None = None) -> None:
        self.manager = manager
        self.identity = identity_ or identity()
        self.on_lost = on_lost
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._recorders: list[EventRecorder] = []
        self.electors = [self._elector(manager.client, CONTROLLER_MANAGER_LEASE,
                                       CONTROLLER_MANAGER_COMPONENT, manager.start_controllers,
                                       timing, clock)]
        if manager.scheduler is not None:
            self.electors.append(self._elector(manager.scheduler_client or manager.client, SCHEDULER_LEASE, SCHEDULER_COMPONENT,
                                               manager.start_scheduler, timing, clock))

    def _elector(self, client: ApiClient, name: str, component: str, start: Callable[[], None],
                 timing: Timing, clock: Clock | None) -> LeaderElector:
        recorder = client.event_recorder(component)
        self._recorders.append(recorder)
        lock = LeaseLock(client, NAMESPACE, name, self.identity, recorder=recorder)

        def stopped() -> None:
            if not self._stopping:
                log.error("leaderelection lost: lease %s/%s", NAMESPACE, name)
                self.on_lost(name)

        def new_leader(holder: str) -> None:
            if holder and holder != self.identity:
                log.info("new leader elected for lease %s/%s: %s", NAMESPACE, name, holder)

        return LeaderElector(lock, timing, on_started_leading=start, on_stopped_leading=stopped,
                             on_new_leader=new_leader, clock=clock)

    def start(self) -> None:
        log.info("leader election identity %s", self.identity)
        self.manager.prepare()
        self._tasks = [asyncio.create_task(e.run(), name=f"leader-election-{e.lock.name}")
                       for e in self.electors]

    async def stop(self) -> None:
        """Stop acting, then release what this process holds, then close the clients."""
        self._stopping = True
        await self.manager.stop(close=False)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for recorder in self._recorders:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(recorder.flush(), EVENT_FLUSH)
            await recorder.stop()
        await self.manager.close()
