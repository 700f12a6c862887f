"""ReplicaSet controller: pure helpers, and the controller against an in-memory API."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.controllers.expectations import Expectations
from kubelite.controllers.podutil import deletion_cost_order, int_or_percent
from kubelite.controllers.replicaset import (
    ReplicaSetController,
    calculate_status,
    pod_from_template,
    slow_start_batches,
    status_patch,
)
from tests.unit.sim.fake_client import FakeClient

Obj = dict[str, Any]
NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def replica_set(replicas: int = 3, min_ready: int = 0) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "rs-uid", "generation": 2},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web", "tier": "front"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def pod(name: str, *, ready: bool = True, since: str = "2025-01-01T11:00:00Z", node: str = "n1",
        phase: str = "Running", created: str = "2025-01-01T10:00:00Z", labels: Obj | None = None,
        restarts: int = 0) -> Obj:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "creationTimestamp": created,
                         "labels": {"app": "web", "tier": "front"} if labels is None else labels},
            "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase, "containerStatuses": [{"restartCount": restarts}],
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": since}]}}


def test_int_or_percent() -> None:
    assert int_or_percent("25%", 10, round_up=True) == 3
    assert int_or_percent("25%", 10, round_up=False) == 2
    assert int_or_percent(4, 10, round_up=False) == 4
    with pytest.raises(ValueError):
        int_or_percent("x%", 10, round_up=False)


def test_slow_start_batches_double() -> None:
    assert slow_start_batches(10) == [1, 2, 4, 3]
    assert slow_start_batches(0) == []


def test_pod_from_template_owned_by_the_replica_set() -> None:
    body = pod_from_template(replica_set())
    assert body["metadata"]["generateName"] == "web-"
    assert body["metadata"]["labels"] == {"app": "web", "tier": "front"}
    ref = body["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == ("ReplicaSet", "rs-uid", True, True)


def test_scale_down_order_not_ready_and_newest_first() -> None:
    pods = [pod("old-ready"), pod("new-ready", created="2025-01-01T11:30:00Z"),
            pod("unready", ready=False), pod("pending", phase="Pending", ready=False),
            pod("unassigned", node="", phase="Pending", ready=False),
            pod("crashy", restarts=5)]
    order = [p["metadata"]["name"] for p in sorted(pods, key=deletion_cost_order)]
    assert order[:3] == ["unassigned", "pending", "unready"]
    assert order.index("crashy") < order.index("old-ready")
    assert order.index("new-ready") < order.index("old-ready")


def test_status_counts_ready_available_and_fully_labeled() -> None:
    rs = replica_set(min_ready=60)
    pods = [pod("a"), pod("b", since="2025-01-01T11:59:30Z"), pod("c", ready=False),
            pod("d", labels={"app": "web"})]
    status = calculate_status(rs, pods, NOW)
    assert status["replicas"] == 4
    assert status["readyReplicas"] == 3
    assert status["availableReplicas"] == 2  # b has been ready for 30 s only
    assert status["fullyLabeledReplicas"] == 3
    assert status["observedGeneration"] == 2


def test_status_patch_nulls_counts_that_drop_to_zero() -> None:
    current = {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "observedGeneration": 1}
    wanted = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "fullyLabeledReplicas": 0,
              "observedGeneration": 1, "conditions": []}
    patch = status_patch(current, wanted)
    assert patch is not None
    assert patch["replicas"] == 0 and patch["readyReplicas"] is None and patch["availableReplicas"] is None
    assert status_patch(current, {**current, "conditions": []}) is None


def test_expectations_wait_for_creations_and_deletions() -> None:
    e = Expectations()
    e.expect_creations("k", 2)
    assert not e.satisfied("k")
    e.creation_observed("k")
    e.creation_observed("k")
    assert e.satisfied("k")
    e.expect_deletions("k", {"u1"})
    assert not e.satisfied("k")
    e.deletion_observed("k", "u1")
    assert e.satisfied("k")
    short = Expectations(timeout=0)
    short.expect_creations("k", 5)
    assert short.satisfied("k")  # expired expectations never wedge a controller


class WorkloadClient(FakeClient):
    """The sim tests' fake API plus generateName and events."""

    def __init__(self) -> None:
        super().__init__()
        self.serial = 0
        self.events: list[tuple[str, str]] = []

    async def create(self, kind: str, obj: Obj, namespace: str | None = None, *,
                     raw: bool = False, field_manager: str | None = None) -> Obj:
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            self.serial += 1
            obj = {**obj, "metadata": {**meta, "name": f"{meta['generateName']}{self.serial:05d}"}}
        return await super().create(kind, obj, namespace, raw=raw, field_manager=field_manager)

    async def create_event(self, involved: Obj, reason: str, message: str, **kw: Any) -> None:
        self.events.append((reason, message))


@pytest.fixture
async def running() -> AsyncIterator[tuple[WorkloadClient, ReplicaSetController]]:
    client = WorkloadClient()
    controller = ReplicaSetController(client)  # type: ignore[arg-type]
    await controller.start()
    try:
        yield client, controller
    finally:
        await controller.stop()


async def wait_until(predicate: Any, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def pods_in(client: FakeClient) -> list[Obj]:
    return [o for (plural, _, _), o in client.objects.items() if plural == "pods"]


async def test_controller_creates_exactly_the_missing_pods_despite_a_slow_api(
        running: tuple[WorkloadClient, ReplicaSetController]) -> None:
    client, controller = running
    client.delay = 0.02
    await client.put_direct("replicasets", replica_set(5))
    await wait_until(lambda: len(pods_in(client)) == 5)
    await asyncio.sleep(0.2)
    assert client.count("create", "pods") == 5  # no double creation while the watch lagged
    assert [r for r, _ in client.events].count("SuccessfulCreate") == 5
    for p in pods_in(client):
        assert p["metadata"]["ownerReferences"][0]["uid"] == "rs-uid"
    rs = client.get_obj("replicasets", "web", "default")
    assert rs is not None and rs["status"]["replicas"] == 5


async def test_controller_scales_down_and_adopts_orphans(
        running: tuple[WorkloadClient, ReplicaSetController]) -> None:
    client, controller = running
    orphan = pod("orphan")
    orphan["metadata"]["name"] = "orphan"
    await client.put_direct("pods", orphan)
    await client.put_direct("replicasets", replica_set(2))
    await wait_until(lambda: len(pods_in(client)) == 2)
    adopted = client.get_obj("pods", "orphan", "default")
    assert adopted is not None and adopted["metadata"]["ownerReferences"][0]["uid"] == "rs-uid"
    assert client.count("create", "pods") == 1
    rs = replica_set(0)
    rs["metadata"]["resourceVersion"] = client.get_obj("replicasets", "web", "default")["metadata"]["resourceVersion"]  # type: ignore[index]
    await client.put_direct("replicasets", rs)
    await wait_until(lambda: len(pods_in(client)) == 0)
