"""Leader election against a real API server: the components' own identities may take only
their own Lease (the RBAC bootstrap roles), a stale write is a 409, and a release hands over."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from kubelite.client import ApiClient
from kubelite.client.errors import Conflict, Forbidden
from kubelite.client.leaderelection import LeaderElector, LeaseLock
from tests.helpers.cluster import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # the child does not elect, so the leases are this test's own
    with running_server(tmp_path_factory.mktemp("le") / "data", "--component-identities",
                        "--no-leader-elect") as s:
        yield s


def client_as(server: Server, component: str) -> ApiClient:
    token = (server.data_dir / "auth" / f"{component}-token").read_text().strip()
    return ApiClient(server.url, token=token, ca_file=str(server.data_dir / "tls" / "ca.crt"))


def elector(client: ApiClient, lease: str, identity: str, log: list[str]) -> LeaderElector:
    lock = LeaseLock(client, "kube-system", lease, identity, client.event_recorder("default-scheduler"))
    return LeaderElector(lock, on_started_leading=lambda: log.append(f"{identity} started"),
                         on_stopped_leading=lambda: log.append(f"{identity} stopped"))


async def test_the_scheduler_takes_its_own_lease_and_no_other(server: Server) -> None:
    client = client_as(server, "kube-scheduler")
    try:
        log: list[str] = []
        mine = elector(client, "kube-scheduler", "host_one", log)
        assert await mine.try_acquire_or_renew()
        assert await mine.try_acquire_or_renew()  # renewed: update allowed on that name
        lease = await client.get("leases", "kube-scheduler", "kube-system", raw=True)
        assert lease["spec"]["holderIdentity"] == "host_one"
        other = LeaseLock(client, "kube-system", "kube-controller-manager", "host_one")
        with pytest.raises(Forbidden):
            await other.get()
    finally:
        await client.close()


async def test_a_stale_update_is_refused_and_a_release_hands_over(server: Server) -> None:
    one, two = client_as(server, "kube-controller-manager"), client_as(server, "kube-controller-manager")
    try:
        log: list[str] = []
        first = elector(one, "kube-controller-manager", "host_first", log)
        second = elector(two, "kube-controller-manager", "host_second", log)
        running = asyncio.create_task(first.run())
        await _eventually(lambda: log == ["host_first started"])
        assert not await second.try_acquire_or_renew()  # held, and not expired
        # a write from an old read is refused: optimistic concurrency, as LeaseLock relies on
        stale = LeaseLock(one, "kube-system", "kube-controller-manager", "host_stale")
        await stale.get()
        await first.try_acquire_or_renew()
        with pytest.raises(Conflict):
            await stale.update(first.observed_record)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        assert log == ["host_first started", "host_first stopped"]
        lease = await one.get("leases", "kube-controller-manager", "kube-system", raw=True)
        assert lease["spec"]["holderIdentity"] == "" and lease["spec"]["leaseDurationSeconds"] == 1
        assert await second.try_acquire_or_renew()  # released: no lease duration to wait out
        lease = await two.get("leases", "kube-controller-manager", "kube-system", raw=True)
        assert lease["spec"]["holderIdentity"] == "host_second"
        assert lease["spec"]["leaseTransitions"] == 1
        await one.event_recorder("default-scheduler").flush()
        events = await one.list("events", "kube-system", field_selector="reason=LeaderElection", raw=True)
        messages = {e["message"] for e in events.items}
        assert {"host_first became leader", "host_first stopped leading"} <= messages
    finally:
        await one.close()
        await two.close()


async def _eventually(check: object, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():  # type: ignore[operator]
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)
