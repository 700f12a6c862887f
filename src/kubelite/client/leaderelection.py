"""Leader election through a coordination.k8s.io/v1 Lease, as client-go's tools/leaderelection.

Candidates race to write their identity into one Lease; the holder renews it every retry
period, and the others take it over only once they have seen the same record, unchanged, for
a whole lease duration by their own clock (observedTime: no clocks are compared across
machines). Every write is an update carrying the resourceVersion last read or written
(LeaseLock), so of two candidates racing for an expired lease exactly one wins; the other
gets a 409. A leader that cannot renew within the renew deadline gives up (at most
renewDeadline after its last renewal, while others wait leaseDuration), and a leader that
stops cleanly releases the lease (ReleaseOnCancel) so that a standby takes over at once.

Differences from client-go: a standby whose count of the lease duration runs out before its
next jittered retry tries again right then rather than up to 4.4 s later (the same check, only
timed: failover after a leader dies, for both of a server's leases, p50 16.4 s instead of 18.2 s
by bench/ha.py's simulation); a leader that fails to renew calls `on_stopped_leading` at once
without first trying to release (a lease it could not renew for the renew deadline is not
its own to hand over); no coordinated leader election (LeaseCandidate, alpha in 1.32).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from kubelite.client.errors import NotFound
from kubelite.client.event_correlator import micro_time

log = logging.getLogger(__name__)

JITTER_FACTOR = 1.2  # client-go's JitterFactor: a standby waits retryPeriod * (1 + rand*1.2)
EXPIRY_MARGIN = 0.01  # seconds after the observed lease runs out that a standby tries again
LEASE_DURATION = 15.0  # kube-controller-manager's and kube-scheduler's defaults
RENEW_DEADLINE = 10.0
RETRY_PERIOD = 2.0
NAMESPACE = "kube-system"
SCHEDULER_LEASE = "kube-scheduler"
CONTROLLER_MANAGER_LEASE = "kube-controller-manager"
EVENT_REASON = "LeaderElection"
BECAME_LEADER = "became leader"
STOPPED_LEADING = "stopped leading"


def identity() -> str:
    """`<hostname>_<uuid>`, as kube-controller-manager and kube-scheduler name themselves."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


# ----- the record and the lock ------------------------------------------------------------


@dataclass(frozen=True)
class LeaderElectionRecord:
    """What the lock holds (client-go's resourcelock.LeaderElectionRecord)."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: dt.datetime | None = None
    renew_time: dt.datetime | None = None
    leader_transitions: int = 0

    def lease_spec(self) -> dict[str, Any]:
        """LeaderElectionRecordToLeaseSpec: every field written, times as MicroTime."""
        spec: dict[str, Any] = {"holderIdentity": self.holder_identity,
                                "leaseDurationSeconds": self.lease_duration_seconds,
                                "leaseTransitions": self.leader_transitions}
        if self.acquire_time is not None:
            spec["acquireTime"] = micro_time(self.acquire_time)
        if self.renew_time is not None:
            spec["renewTime"] = micro_time(self.renew_time)
        return spec

    @classmethod
    def from_lease_spec(cls, spec: dict[str, Any]) -> LeaderElectionRecord:
        """LeaseSpecToLeaderElectionRecord."""
        return cls(holder_identity=spec.get("holderIdentity") or "",
                   lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
                   acquire_time=_parse_time(spec.get("acquireTime")),
                   renew_time=_parse_time(spec.get("renewTime")),
                   leader_transitions=int(spec.get("leaseTransitions") or 0))


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class LeaseClient(Protocol):
    """The client calls a LeaseLock makes (ApiClient provides them; tests use a fake)."""

    async def get(self, kind: Any, name: str, namespace: str | None = None, *, raw: bool = ...) -> Any: ...
    async def create(self, kind: Any, obj: Any, namespace: str | None = None, *, raw: bool = ...) -> Any: ...
    async def update(self, kind: Any, obj: Any, *, raw: bool = ...) -> Any: ...


class EventSink(Protocol):
    def emit(self, involved: Any, type_: str, reason: str, message: str, *,
             involved_kind: Any = ...) -> None: ...


class LockNotInitialized(Exception):
    """An update before any get or create: there is no resourceVersion to update from."""


class LeaseLock:
    """One Lease as a lock (client-go's resourcelock.LeaseLock). It keeps the Lease last read
    or written, and every update sends its resourceVersion: optimistic concurrency."""

    def __init__(self, client: LeaseClient, namespace: str, name: str, identity: str,
                 recorder: EventSink | None = None) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.recorder = recorder
        self.lease: dict[str, Any] | None = None

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    async def get(self) -> tuple[LeaderElectionRecord, LeaderElectionRecord]:
        """The record, and the same again as the 'raw record' client-go compares to notice a
        change (here the parsed record itself: equal records mean equal specs)."""
        self.lease = await self.client.get("leases", self.name, self.namespace, raw=True)
        record = LeaderElectionRecord.from_lease_spec(self.lease.get("spec") or {})
        return record, record

    async def create(self, record: LeaderElectionRecord) -> None:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": record.lease_spec()}
        self.lease = await self.client.create("leases", body, self.namespace, raw=True)

    async def update(self, record: LeaderElectionRecord) -> None:
        if self.lease is None:
            raise LockNotInitialized("lease not initialized, call get or create first")
        lease = {**self.lease, "spec": record.lease_spec()}
        self.lease = await self.client.update("leases", lease, raw=True)

    def record_event(self, what: str) -> None:
        """`<identity> became leader` (reason LeaderElection) about the Lease, as LeaseLock's
        RecordEvent writes it."""
        if self.recorder is None:
            return
        meta = dict((self.lease or {}).get("metadata") or {"name": self.name, "namespace": self.namespace})
        subject = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta}
        self.recorder.emit(subject, "Normal", EVENT_REASON, f"{self.identity} {what}")


# ----- time -------------------------------------------------------------------------------


class Clock(Protocol):
    """Wall time for the record, monotonic time for observedTime, and sleeping."""

    def now(self) -> dt.datetime: ...
    def monotonic(self) -> float: ...
    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# ----- the elector ------------------------------------------------------------------------


Callback = Callable[[], Awaitable[None] | None]


@dataclass(frozen=True)
class Timing:
    """leaseDuration, renewDeadline and retryPeriod in seconds, checked as NewLeaderElector does."""

    lease_duration: float = LEASE_DURATION
    renew_deadline: float = RENEW_DEADLINE
    retry_period: float = RETRY_PERIOD

    def __post_init__(self) -> None:
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("leaseDuration must be greater than renewDeadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ValueError("renewDeadline must be greater than retryPeriod*JitterFactor")
        if self.lease_duration <= 0:
            raise ValueError("leaseDuration must be greater than zero")
        if self.renew_deadline <= 0:
            raise ValueError("renewDeadline must be greater than zero")
        if self.retry_period <= 0:
            raise ValueError("retryPeriod must be greater than zero")


DEFAULT_TIMING = Timing()


class LeaderElector:
    """Runs for one lock: waits to acquire it, calls `on_started_leading`, renews it, and calls
    `on_stopped_leading` when it stops leading (lost, or `run` cancelled). `on_new_leader`
    hears every change of holder seen, this one's included."""

    def __init__(self, lock: LeaseLock, timing: Timing = DEFAULT_TIMING, *,
                 on_started_leading: Callback, on_stopped_leading: Callback,
                 on_new_leader: Callable[[str], None] | None = None,
                 release_on_cancel: bool = True, clock: Clock | None = None,
                 rand: Callable[[], float] = random.random) -> None:
        self.lock = lock
        self.timing = timing
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.release_on_cancel = release_on_cancel
        self.clock: Clock = clock or RealClock()
        self.rand = rand
        self.observed_record = LeaderElectionRecord()
        self.observed_raw: LeaderElectionRecord | None = None
        self.observed_time = 0.0
        self.reported_leader = ""

    # -- state

    def is_leader(self) -> bool:
        return self.observed_record.holder_identity == self.lock.identity

    def get_leader(self) -> str:
        return self.observed_record.holder_identity

    def is_lease_valid(self, now: float) -> bool:
        return self.observed_time + self.observed_record.lease_duration_seconds > now

    def _set_observed(self, record: LeaderElectionRecord) -> None:
        self.observed_record = record
        self.observed_time = self.clock.monotonic()

    def _maybe_report_transition(self) -> None:
        if self.observed_record.holder_identity == self.reported_leader:
            return
        self.reported_leader = self.observed_record.holder_identity
        if self.on_new_leader is not None:
            self.on_new_leader(self.reported_leader)

    # -- the loop

    async def run(self) -> None:
        """Until cancelled or the lease is lost."""
        started: asyncio.Task[None] | None = None
        lost = False
        try:
            await self.acquire()
            started = _as_task(self.on_started_leading())
            lost = await self.renew()
        finally:
            if not lost and self.release_on_cancel and self.is_leader():
                await asyncio.shield(self._release_within_deadline())
            if started is not None and not started.done():
                started.cancel()
            result = self.on_stopped_leading()
            if result is not None:
                await result

    async def acquire(self) -> None:
        """Try every retryPeriod (jittered by 1.2) until this candidate holds the lease."""
        desc = self.lock.describe()
        log.info("attempting to acquire leader lease %s...", desc)
        while True:
            succeeded = await self._bounded(self.try_acquire_or_renew(), self.timing.renew_deadline)
            self._maybe_report_transition()
            if succeeded:
                self.lock.record_event(BECAME_LEADER)
                log.info("successfully acquired lease %s", desc)
                return
            log.debug("failed to acquire lease %s", desc)
            await self.clock.sleep(self._next_try_in())

    def _next_try_in(self) -> float:
        """Seconds until the next try: a retry period jittered by 1.2, as client-go waits, or,
        when the lease another holds runs out sooner by this candidate's own count (observedTime
        + leaseDuration), just after that. client-go leaves the lapse to the next jittered poll,
        up to 4.4 s late; the check that the lease has run out is the same either way."""
        period = self.timing.retry_period
        wait = period + self.rand() * JITTER_FACTOR * period
        if self.observed_record.holder_identity and not self.is_leader():
            runs_out_in = (self.observed_time + self.observed_record.lease_duration_seconds
                           - self.clock.monotonic())
            if 0 < runs_out_in < wait:
                return runs_out_in + EXPIRY_MARGIN
        return wait

    async def renew(self) -> bool:
        """Renew every retryPeriod; True once a renewal has failed for renewDeadline (lost).
        Cancelled: ends by the caller's cancellation."""
        desc = self.lock.describe()
        try:
            while True:
                renewed = await self._renew_before(self.clock.monotonic() + self.timing.renew_deadline)
                self._maybe_report_transition()
                if not renewed:
                    log.info("failed to renew lease %s: timed out waiting for the condition", desc)
                    return True
                log.debug("successfully renewed lease %s", desc)
                await self.clock.sleep(self.timing.retry_period)
        finally:
            self.lock.record_event(STOPPED_LEADING)

    async def _renew_before(self, deadline: float) -> bool:
        """PollImmediateUntil: try now, then every retryPeriod, each try cut at the deadline."""
        while True:
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                return False
            if await self._bounded(self.try_acquire_or_renew(), remaining):
                return True
            remaining = deadline - self.clock.monotonic()
            if remaining <= self.timing.retry_period:
                if remaining > 0:
                    await self.clock.sleep(remaining)
                return False
            await self.clock.sleep(self.timing.retry_period)

    async def _bounded(self, attempt: Coroutine[Any, Any, bool], seconds: float) -> bool:
        """The attempt's answer, or False if it takes longer than `seconds` (then cancelled)."""
        task = asyncio.ensure_future(attempt)
        timer = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (task, timer):
                t.cancel()
            await asyncio.gather(task, timer, return_exceptions=True)
        return task.done() and not task.cancelled() and task.exception() is None and task.result()

    # -- one attempt

    async def try_acquire_or_renew(self) -> bool:
        """tryAcquireOrRenew: True when this candidate holds the lease after the call."""
        now = self.clock.now()
        record = LeaderElectionRecord(
            holder_identity=self.lock.identity,
            lease_duration_seconds=int(self.timing.lease_duration), renew_time=now, acquire_time=now)

        # 1. the leader's fast path: update from the record it wrote last
        if self.is_leader() and self.is_lease_valid(self.clock.monotonic()):
            old = self.observed_record
            record = _with(record, old.acquire_time, old.leader_transitions)
            try:
                await self.lock.update(record)
                self._set_observed(record)
                return True
            except Exception as e:
                log.error("Failed to update lock optimistically: %s, falling back to slow path", e)

        # 2. read the record, or create it
        try:
            old, raw = await self.lock.get()
        except NotFound:
            try:
                await self.lock.create(record)
            except Exception as e:
                log.error("error initially creating leader election record: %s", e)
                return False
            self._set_observed(record)
            return True
        except Exception as e:
            log.error("error retrieving resource lock %s: %s", self.lock.describe(), e)
            return False

        # 3. a changed record restarts this candidate's count of the lease duration
        if self.observed_raw != raw:
            self._set_observed(old)
            self.observed_raw = raw
        if old.holder_identity and self.is_lease_valid(self.clock.monotonic()) and not self.is_leader():
            log.debug("lock is held by %s and has not yet expired", old.holder_identity)
            return False

        # 4. take it (or keep it): acquireTime and transitions as the holder changes or not
        if self.is_leader():
            record = _with(record, old.acquire_time, old.leader_transitions)
        else:
            record = _with(record, now, old.leader_transitions + 1)
        try:
            await self.lock.update(record)
        except Exception as e:
            log.error("Failed to update lock: %s", e)
            return False
        self._set_observed(record)
        return True

    async def release(self) -> bool:
        """Give the lease up: no holder, a lease of one second (client-go's release)."""
        if not self.is_leader():
            return True
        try:
            current, _ = await self.lock.get()  # the latest resourceVersion
        except Exception as e:  # any failure leaves the lease to expire
            log.error("Failed to release lease: %s", e)
            return False
        if current.holder_identity != self.lock.identity:
            return True  # taken over meanwhile: not ours to release
        now = self.clock.now()
        record = LeaderElectionRecord(lease_duration_seconds=1, renew_time=now, acquire_time=now,
                                      leader_transitions=self.observed_record.leader_transitions)
        try:
            await self.lock.update(record)
        except Exception as e:
            log.error("Failed to release lock: %s", e)
            return False
        self._set_observed(record)
        return True

    async def _release_within_deadline(self) -> None:
        with contextlib.suppress(Exception):
            await self._bounded(self.release(), self.timing.renew_deadline)


def _with(record: LeaderElectionRecord, acquire_time: dt.datetime | None,
          transitions: int) -> LeaderElectionRecord:
    return LeaderElectionRecord(record.holder_identity, record.lease_duration_seconds,
                                acquire_time, record.renew_time, transitions)


def _as_task(result: Awaitable[None] | None) -> asyncio.Task[None] | None:
    if result is None:
        return None

    async def wait() -> None:
        await result

    return asyncio.ensure_future(wait())
