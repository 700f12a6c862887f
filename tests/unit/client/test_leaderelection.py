"""client/leaderelection.py: client-go's LeaderElector over a Lease, with a fake clock and a fake
API of Leases that keeps resourceVersions as the API server does."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from kubelite.client.leaderelection import (
    LeaderElectionRecord,
    LeaderElector,
    LeaseLock,
    Timing,
    identity,
)
from tests.unit.client.fake_leases import START, FakeClock, LeaseStore, settle


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, Any], str, str, str]] = []

    def emit(self, involved: Any, type_: str, reason: str, message: str, **kw: Any) -> None:
        self.seen.append((involved, type_, reason, message))


class Candidate:
    """An elector with its own client, its callbacks' record, and the shared fake clock."""

    def __init__(self, name: str, store: LeaseStore, clock: FakeClock, log: list[str],
                 jitter: float = 0.0) -> None:
        self.name = name
        self.client = store.client()
        self.events = Events()
        self.lock = LeaseLock(self.client, "kube-system", "kube-scheduler", f"host_{name}", self.events)
        self.elector = LeaderElector(
            self.lock, on_started_leading=lambda: log.append(f"{name} started"),
            on_stopped_leading=lambda: log.append(f"{name} stopped"), clock=clock, rand=lambda: jitter)
        self.task: asyncio.Task[None] | None = None

    def run(self) -> None:
        self.task = asyncio.create_task(self.elector.run())


@pytest.fixture
def world() -> tuple[LeaseStore, FakeClock, list[str]]:
    return LeaseStore(), FakeClock(), []


def spec(store: LeaseStore) -> dict[str, Any]:
    return store.leases["kube-scheduler"]["spec"]


def test_identity_is_hostname_underscore_uuid() -> None:
    import socket
    import uuid

    host, _, rest = identity().rpartition("_")
    assert host == socket.gethostname()
    assert uuid.UUID(rest).version == 4


def test_timing_is_checked_as_new_leader_elector_does() -> None:
    with pytest.raises(ValueError, match="leaseDuration must be greater than renewDeadline"):
        Timing(10, 10, 2)
    with pytest.raises(ValueError, match=r"renewDeadline must be greater than retryPeriod\*JitterFactor"):
        Timing(15, 2.4, 2)
    assert Timing().lease_duration == 15 and Timing().renew_deadline == 10 and Timing().retry_period == 2


async def test_the_first_candidate_creates_the_lease_as_kubernetes_writes_it(world: Any) -> None:
    store, clock, log = world
    a = Candidate("a", store, clock, log)
    assert await a.elector.try_acquire_or_renew()
    assert spec(store) == {"holderIdentity": "host_a", "leaseDurationSeconds": 15, "leaseTransitions": 0,
                           "acquireTime": "2026-12-07T01:00:00.000000Z",
                           "renewTime": "2026-12-07T01:00:00.000000Z"}
    assert a.elector.is_leader()


async def test_a_standby_waits_a_lease_duration_from_when_it_saw_the_record_change(world: Any) -> None:
    store, clock, log = world
    a, b = Candidate("a", store, clock, log), Candidate("b", store, clock, log)
    assert await a.elector.try_acquire_or_renew()
    # the holder's clock is not the standby's: a renewTime far in the past changes nothing
    store.leases["kube-scheduler"]["spec"]["renewTime"] = "2001-01-01T00:00:00.000000Z"
    await clock.advance(5)
    assert not await b.elector.try_acquire_or_renew()  # first seen at t=5
    await clock.advance(14.5)
    assert not await b.elector.try_acquire_or_renew()  # seen unchanged for 14.5 s
    assert b.elector.get_leader() == "host_a"
    await clock.advance(1)
    assert await b.elector.try_acquire_or_renew()  # 15.5 s: expired
    s = spec(store)
    assert s["holderIdentity"] == "host_b" and s["leaseTransitions"] == 1
    assert s["acquireTime"] == s["renewTime"] == "2026-12-07T01:00:20.500000Z"


async def test_a_renewal_seen_by_the_standby_restarts_its_count(world: Any) -> None:
    store, clock, log = world
    a, b = Candidate("a", store, clock, log), Candidate("b", store, clock, log)
    assert await a.elector.try_acquire_or_renew()
    assert not await b.elector.try_acquire_or_renew()
    await clock.advance(10)
    assert await a.elector.try_acquire_or_renew()  # renewed at t=10
    assert not await b.elector.try_acquire_or_renew()  # a new record: counted from t=10
    await clock.advance(10)
    assert not await b.elector.try_acquire_or_renew()  # t=20, only 10 s since the change


async def test_a_standby_tries_again_as_the_lease_runs_out_not_at_its_next_poll(world: Any) -> None:
    store, clock, log = world
    a = Candidate("a", store, clock, log)
    b = Candidate("b", store, clock, log, jitter=1.0)  # polls every 2 s * (1 + 1.2) = 4.4 s
    assert await a.elector.try_acquire_or_renew()  # then never renewed: a died at t=0
    b.run()
    await clock.advance(15)  # tried at t=0, 4.4, 8.8, 13.2; the lease it saw runs out at t=15
    assert log == []
    await clock.advance(0.1)  # client-go's next poll would be at t=17.6
    assert log == ["b started"] and 15 < clock.t and b.elector.is_leader()
    assert spec(store)["renewTime"] == "2026-12-07T01:00:15.010000Z"
    b.task.cancel()  # type: ignore[union-attr]
    await settle()


async def test_the_leader_renews_on_the_fast_path_keeping_acquire_time(world: Any) -> None:
    store, clock, log = world
    a = Candidate("a", store, clock, log)
    assert await a.elector.try_acquire_or_renew()
    a.client.calls.clear()
    await clock.advance(2)
    assert await a.elector.try_acquire_or_renew()
    assert a.client.calls == ["update"]  # no read: the update carries the last resourceVersion
    s = spec(store)
    assert s["acquireTime"] == "2026-12-07T01:00:00.000000Z"
    assert s["renewTime"] == "2026-12-07T01:00:02.000000Z"
    assert s["leaseTransitions"] == 0


async def test_two_candidates_racing_for_an_expired_lease_one_wins(world: Any) -> None:
    store, clock, log = world
    a, b, c = (Candidate(n, store, clock, log) for n in "abc")
    assert await a.elector.try_acquire_or_renew()
    assert not await b.elector.try_acquire_or_renew()
    assert not await c.elector.try_acquire_or_renew()
    await clock.advance(16)
    won = await asyncio.gather(b.elector.try_acquire_or_renew(), c.elector.try_acquire_or_renew())
    assert sorted(won) == [False, True]
    assert spec(store)["holderIdentity"] == ("host_b" if won[0] else "host_c")
    assert spec(store)["leaseTransitions"] == 1


async def test_a_leader_cut_off_stops_before_the_standby_starts(world: Any) -> None:
    store, clock, log = world
    a, b = Candidate("a", store, clock, log), Candidate("b", store, clock, log)
    a.run()
    await clock.advance(0)
    b.run()
    await clock.advance(0)
    assert log == ["a started"]
    for _ in range(5):  # renewed every 2 s
        await clock.advance(2)
    assert spec(store)["renewTime"] == "2026-12-07T01:00:10.000000Z"
    a.client.down = True  # last renewal at t=10
    await clock.advance(9.5)
    assert log == ["a started"]
    await clock.advance(2.5)  # t=22: the renewal begun at t=12 has failed for 10 s
    assert log == ["a started", "a stopped"]
    assert a.task is not None and a.task.done()
    while log[-1] != "b started":  # the standby saw the last change at t=10 or 12 (it polls
        await clock.advance(0.5)   # every 2 s): it takes over as those 15 s run out
    assert 25 <= clock.t <= 27.5 and b.elector.is_leader()
    assert spec(store)["leaseTransitions"] == 1
    assert [e[3] for e in a.events.seen] == ["host_a became leader", "host_a stopped leading"]
    b.task.cancel()  # type: ignore[union-attr]
    await settle()


async def test_a_hung_renewal_is_cut_at_the_renew_deadline(world: Any) -> None:
    store, clock, log = world
    a = Candidate("a", store, clock, log)
    a.run()
    await clock.advance(2)
    a.client.hang = True
    await clock.advance(2 + 9.9)
    assert log == ["a started"]
    await clock.advance(0.2)
    assert log == ["a started", "a stopped"]


async def test_cancelling_the_leader_releases_the_lease(world: Any) -> None:
    store, clock, log = world
    a, b = Candidate("a", store, clock, log), Candidate("b", store, clock, log)
    a.run()
    await clock.advance(0)
    b.run()
    await clock.advance(2)
    assert a.task is not None
    a.task.cancel()
    await settle()
    s = spec(store)
    assert s["holderIdentity"] == "" and s["leaseDurationSeconds"] == 1
    assert log == ["a started", "a stopped"]
    await clock.advance(2)  # the standby's next try, not a lease duration later
    assert log[-1] == "b started"
    assert spec(store)["holderIdentity"] == "host_b" and spec(store)["leaseTransitions"] == 1
    b.task.cancel()  # type: ignore[union-attr]
    await settle()


async def test_became_leader_is_an_event_about_the_lease(world: Any) -> None:
    store, clock, log = world
    a = Candidate("a", store, clock, log)
    a.run()
    await clock.advance(0)
    involved, type_, reason, message = a.events.seen[0]
    assert (type_, reason, message) == ("Normal", "LeaderElection", "host_a became leader")
    assert involved["kind"] == "Lease" and involved["apiVersion"] == "coordination.k8s.io/v1"
    assert involved["metadata"]["name"] == "kube-scheduler"
    assert involved["metadata"]["namespace"] == "kube-system"
    assert involved["metadata"]["uid"] == "uid-kube-scheduler"
    assert a.task is not None
    a.task.cancel()
    await settle()


def test_the_record_round_trips_through_a_lease_spec() -> None:
    record = LeaderElectionRecord("h_1", 15, START, START + dt.timedelta(microseconds=5), 3)
    assert LeaderElectionRecord.from_lease_spec(record.lease_spec()) == record
    assert LeaderElectionRecord.from_lease_spec({}) == LeaderElectionRecord()
