"""controllers/leadership.py: the controllers and the scheduler each start under their Lease; a
stop stops them before releasing; a lost lease ends the process (on_lost)."""

from __future__ import annotations

from typing import Any

from kubelite.controllers.leadership import Leadership
from tests.unit.client.fake_leases import FakeClock, FakeLeaseClient, LeaseStore


class Recorder:
    def emit(self, *args: Any, **kw: Any) -> None:
        pass

    async def flush(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class Client(FakeLeaseClient):
    def event_recorder(self, component: str) -> Recorder:
        return Recorder()


class Manager:
    """What Leadership uses of a ControllerManager; its calls go in the client's call log, so
    the order of stopping and releasing shows."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.scheduler_client = None
        self.scheduler = object()

    def prepare(self) -> None:
        self.client.calls.append("prepare")

    def start_controllers(self) -> None:
        self.client.calls.append("start controllers")

    def start_scheduler(self) -> None:
        self.client.calls.append("start scheduler")

    async def stop(self, *, close: bool = True) -> None:
        self.client.calls.append("stop")

    async def close(self) -> None:
        self.client.calls.append("close")


def leadership(store: LeaseStore, clock: FakeClock, name: str, lost: list[str]) -> tuple[Leadership, Client]:
    client = Client(store)
    return Leadership(Manager(client), on_lost=lambda lease: lost.append(f"{name} {lease}"),  # type: ignore[arg-type]
                      identity_=f"host_{name}", clock=clock), client


async def test_each_half_starts_under_its_lease_and_stops_before_releasing() -> None:
    store, clock, lost = LeaseStore(), FakeClock(), []
    one, client = leadership(store, clock, "one", lost)
    one.start()
    await clock.advance(0)
    assert {"start controllers", "start scheduler"} <= set(client.calls)
    assert store.leases["kube-controller-manager"]["spec"]["holderIdentity"] == "host_one"
    assert store.leases["kube-scheduler"]["spec"]["holderIdentity"] == "host_one"
    client.calls.clear()
    await one.stop()
    assert client.calls[0] == "stop" and client.calls[-1] == "close"
    assert client.calls.count("update") == 2  # both released, after the loops stopped
    assert all(lease["spec"]["holderIdentity"] == "" for lease in store.leases.values())
    assert lost == []  # a stop is no loss


async def test_a_standby_starts_nothing_and_a_cut_off_leader_is_lost() -> None:
    store, clock, lost = LeaseStore(), FakeClock(), []
    one, first = leadership(store, clock, "one", lost)
    two, second = leadership(store, clock, "two", lost)
    one.start()
    await clock.advance(0)
    two.start()
    await clock.advance(4)
    assert "start controllers" not in second.calls and "start scheduler" not in second.calls
    first.down = True
    await clock.advance(13)
    assert sorted(lost) == ["one kube-controller-manager", "one kube-scheduler"]
    assert "start controllers" not in second.calls  # the lease has not lapsed yet
    await clock.advance(10)
    assert {"start controllers", "start scheduler"} <= set(second.calls)
    await two.stop()
