"""The scheduling queue: which pending pod to try next, and when to try a refused one again.

- active: ready now, highest spec.priority first, then oldest.
- backoff: failed recently; ready after 1 s, doubling per attempt up to 10 s.
- unschedulable: refused by some plugins; woken only by a cluster event one of those plugins
  registered for (node added, pod deleted...), or after 5 minutes regardless.
A move request during a pod's own cycle sends it to backoff instead of unschedulable, so an
event that raced with its attempt is not lost.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from kubelite.api.types import core_v1
from kubelite.scheduler.cache import pod_key
from kubelite.scheduler.framework import Event

DEFAULT_INITIAL_BACKOFF = 1.0
DEFAULT_MAX_BACKOFF = 10.0
DEFAULT_MAX_UNSCHEDULABLE = 300.0


@dataclass
class QueuedPod:
    pod: core_v1.Pod
    key: str
    added: float  # monotonic time it first entered the queue
    attempts: int = 0
    unschedulable_plugins: set[str] = field(default_factory=set)
    last_failure: float = 0.0
    cycle: int = 0  # scheduling cycle of its last attempt

    @property
    def priority(self) -> int:
        return (self.pod.spec.priority if self.pod.spec else None) or 0

    @property
    def created(self) -> str:
        return (self.pod.metadata.creation_timestamp if self.pod.metadata else None) or ""


def _spec_or_labels_changed(old: core_v1.Pod, new: core_v1.Pod) -> bool:
    """Only a change the scheduler could act on (not status, not resourceVersion)."""
    def strip(p: core_v1.Pod) -> tuple[object, object, object]:
        meta = p.metadata
        return (msgspec.to_builtins(p.spec), meta.labels if meta else None,
                meta.annotations if meta else None)
    return strip(old) != strip(new)


class SchedulingQueue:
    def __init__(self, plugin_events: dict[str, Event] | None = None, *,
                 initial_backoff: float = DEFAULT_INITIAL_BACKOFF,
                 max_backoff: float = DEFAULT_MAX_BACKOFF,
                 max_unschedulable: float = DEFAULT_MAX_UNSCHEDULABLE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.plugin_events = plugin_events or {}
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_unschedulable = max_unschedulable
        self.clock = clock
        self.scheduling_cycle = 0
        self._move_request_cycle = -1
        self._seq = itertools.count()
        self._active: list[tuple[int, str, int, str]] = []  # (-priority, created, seq, key)
        self._active_keys: set[str] = set()
        self._backoff: dict[str, QueuedPod] = {}
        self._unschedulable: dict[str, QueuedPod] = {}
        self._pods: dict[str, QueuedPod] = {}  # every queued or in-flight pod
        self._in_flight: set[str] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._closed = False

    # -- what informers call ------------------------------------------------------------------

    def add(self, pod: core_v1.Pod) -> None:
        key = pod_key(pod)
        qp = self._pods.get(key)
        if qp is not None:
            qp.pod = pod
            return
        qp = self._pods[key] = QueuedPod(pod, key, self.clock())
        self._push_active(qp)

    def update(self, old: core_v1.Pod | None, new: core_v1.Pod) -> None:
        key = pod_key(new)
        qp = self._pods.get(key)
        if qp is None:
            self.add(new)
            return
        changed = old is None or _spec_or_labels_changed(old, new)
        qp.pod = new
        if changed and key in self._unschedulable:
            del self._unschedulable[key]
            self._requeue(qp)

    def delete(self, pod: core_v1.Pod) -> None:
        key = pod_key(pod)
        self._pods.pop(key, None)
        self._active_keys.discard(key)  # its heap entry is skipped lazily
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)

    # -- what the scheduling loop calls ---------------------------------------------------------

    async def pop(self) -> QueuedPod:
        """The next pod to try (waits for one); call done(key) when its cycle is over."""
        while True:
            self.flush_backoff()
            while self._active:
                _, _, _, key = heapq.heappop(self._active)
                if key not in self._active_keys:
                    continue
                self._active_keys.discard(key)
                qp = self._pods[key]
                self.scheduling_cycle += 1
                qp.attempts += 1
                qp.cycle = self.scheduling_cycle
                self._in_flight.add(key)
                return qp
            if self._closed:
                raise asyncio.CancelledError("scheduling queue closed")
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            timeout = self._next_backoff_expiry()
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                pass
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def done(self, key: str) -> None:
        """The pod's cycle ended in success (assumed); it leaves the queue."""
        self._in_flight.discard(key)
        if key not in self._backoff and key not in self._unschedulable and key not in self._active_keys:
            self._pods.pop(key, None)

    def add_unschedulable(self, qp: QueuedPod, plugins: set[str]) -> None:
        """After a failed attempt: wait for an event (or in backoff, if one raced the attempt)."""
        self._in_flight.discard(qp.key)
        if qp.key not in self._pods:
            return  # deleted while in flight
        qp.unschedulable_plugins = set(plugins)
        qp.last_failure = self.clock()
        if self._move_request_cycle >= qp.cycle:
            self._backoff[qp.key] = qp
        else:
            self._unschedulable[qp.key] = qp

    def add_backoff(self, qp: QueuedPod) -> None:
        """After an error (binding failed...): retry once the backoff has passed."""
        self._in_flight.discard(qp.key)
        self._pods.setdefault(qp.key, qp)
        qp.last_failure = self.clock()
        self._backoff[qp.key] = qp
        self._wake()

    def move_on_event(self, event: Event) -> int:
        """Wake refused pods whose refusing plugins wait for this event; returns how many."""
        moved = 0
        for key, qp in list(self._unschedulable.items()):
            if not qp.unschedulable_plugins or any(
                    self.plugin_events.get(p, Event.ALL) & event for p in qp.unschedulable_plugins):
                del self._unschedulable[key]
                self._requeue(qp)
                moved += 1
        self._move_request_cycle = self.scheduling_cycle
        return moved

    def flush_backoff(self) -> None:
        """Backoff-complete pods to active; pods unschedulable too long go back too."""
        now = self.clock()
        for key, qp in list(self._backoff.items()):
            if self.backoff_expiry(qp) <= now:
                del self._backoff[key]
                self._push_active(qp)
        for key, qp in list(self._unschedulable.items()):
            if now - qp.last_failure >= self.max_unschedulable:
                del self._unschedulable[key]
                self._requeue(qp)

    def backoff_duration(self, qp: QueuedPod) -> float:
        if qp.attempts == 0:
            return 0.0
        return min(self.max_backoff, self.initial_backoff * (2 ** (qp.attempts - 1)))

    def backoff_expiry(self, qp: QueuedPod) -> float:
        return qp.last_failure + self.backoff_duration(qp)

    def close(self) -> None:
        self._closed = True
        self._wake()

    # -- views for tests and explain ------------------------------------------------------------

    def pending(self) -> dict[str, list[str]]:
        return {"active": sorted(self._active_keys), "backoff": sorted(self._backoff),
                "unschedulable": sorted(self._unschedulable)}

    # -- internals ------------------------------------------------------------------------------

    def _requeue(self, qp: QueuedPod) -> None:
        if self.backoff_expiry(qp) > self.clock():
            self._backoff[qp.key] = qp
            self._wake()
        else:
            self._push_active(qp)

    def _push_active(self, qp: QueuedPod) -> None:
        if qp.key in self._active_keys:
            return
        self._active_keys.add(qp.key)
        heapq.heappush(self._active, (-qp.priority, qp.created, next(self._seq), qp.key))
        self._wake()

    def _next_backoff_expiry(self) -> float | None:
        if not self._backoff:
            return None
        soonest = min(self.backoff_expiry(qp) for qp in self._backoff.values())
        return max(0.0, soonest - self.clock()) + 0.001

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)
