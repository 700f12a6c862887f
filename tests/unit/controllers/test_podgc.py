"""Pod GC: orphans of deleted nodes (after the quarantine), terminating pods on out-of-service
nodes and never scheduled, terminated pods over the threshold; each marked Failed and then
force-deleted, against an in-memory API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from kubelite.controllers.podgc import (
    OUT_OF_SERVICE,
    PodGCController,
    failed_status,
    out_of_service,
    terminated_over_threshold,
)
from tests.unit.sim.fake_client import FakeClient

Obj = dict[str, Any]
DELETING = "2025-01-01T12:00:00Z"


def node(name: str, ready: str = "True", taints: list[Obj] | None = None) -> Obj:
    return {"metadata": {"name": name}, "spec": {"taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def pod(name: str, node_name: str = "", phase: str = "Running", created: str = "2025-01-01T10:00:00Z",
        deleting: bool = False, reason: str = "") -> Obj:
    m: Obj = {"name": name, "namespace": "default", "uid": f"{name}-uid", "creationTimestamp": created}
    if deleting:
        m["deletionTimestamp"] = DELETING
    status: Obj = {"phase": phase}
    if reason:
        status["reason"] = reason
    return {"metadata": m, "spec": {"nodeName": node_name} if node_name else {}, "status": status}


def names(pods: list[Obj]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_terminated_pods_over_the_threshold_go_evicted_first_then_oldest() -> None:
    pods = [pod("old-ok", phase="Succeeded", created="2025-01-01T01:00:00Z"),
            pod("new-evicted", phase="Failed", created="2025-01-01T05:00:00Z", reason="Evicted"),
            pod("mid-failed", phase="Failed", created="2025-01-01T03:00:00Z"),
            pod("b-same", phase="Succeeded", created="2025-01-01T04:00:00Z"),
            pod("a-same", phase="Succeeded", created="2025-01-01T04:00:00Z"),
            pod("running", created="2025-01-01T00:00:00Z")]
    assert names(terminated_over_threshold(pods, 2)) == ["new-evicted", "old-ok", "mid-failed"]
    assert names(terminated_over_threshold(pods, 3)) == ["new-evicted", "old-ok"]
    assert terminated_over_threshold(pods, 5) == []
    assert terminated_over_threshold(pods, 0) == []  # 0 turns the terminated GC off
    assert names(terminated_over_threshold(pods[2:5], 1)) == ["mid-failed", "a-same"]


def test_out_of_service_needs_the_taint_on_a_node_not_ready() -> None:
    taint = [{"key": OUT_OF_SERVICE, "value": "nodeshutdown", "effect": "NoExecute"}]
    assert out_of_service(node("n", "False", taint))
    assert out_of_service(node("n", "Unknown", taint))
    assert not out_of_service(node("n", "True", taint))
    assert not out_of_service(node("n", "False"))
    assert not out_of_service(None)


def test_failed_status_only_for_unfinished_pods() -> None:
    cond = {"type": "DisruptionTarget", "status": "True"}
    assert failed_status(pod("p"), cond) == {"phase": "Failed", "conditions": [cond]}
    assert failed_status(pod("p", phase="Pending"), None) == {"phase": "Failed"}
    assert failed_status(pod("p", phase="Succeeded"), cond) is None


@pytest.fixture
async def gc() -> AsyncIterator[tuple[FakeClient, PodGCController]]:
    client = FakeClient()
    controller = PodGCController(client, terminated_threshold=2, quarantine=0.3,  # type: ignore[arg-type]
                                 check_period=0.1)
    yield client, controller
    await controller.stop()


async def wait_for(check: Callable[[], bool], what: str, timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.02)


def pod_writes(client: FakeClient, name: str) -> list[tuple[str, Any]]:
    return [(verb, body) for verb, plural, n, body in client.writes if plural == "pods" and n == name]


async def test_orphans_of_a_deleted_node_are_failed_then_force_deleted(
        gc: tuple[FakeClient, PodGCController]) -> None:
    client, controller = gc
    await client.put_direct("nodes", node("lost"))
    await client.put_direct("nodes", node("alive"))
    await client.put_direct("pods", pod("orphan", "lost"))
    await client.put_direct("pods", pod("done", "lost", phase="Succeeded"))
    await client.put_direct("pods", pod("kept", "alive"))
    await controller.start()
    start = asyncio.get_running_loop().time()
    await client.delete("nodes", "lost")
    await wait_for(lambda: client.get_obj("pods", "orphan", "default") is None, "the orphan deleted")
    assert asyncio.get_running_loop().time() - start >= 0.25  # not before the quarantine
    await wait_for(lambda: client.get_obj("pods", "done", "default") is None, "the finished orphan deleted")
    assert client.get_obj("pods", "kept", "default") is not None
    writes = pod_writes(client, "orphan")
    assert [verb for verb, _ in writes] == ["patch/status", "delete"]
    status_patch, delete = writes[0][1], writes[1][1]
    assert status_patch["metadata"] == {"uid": "orphan-uid"}
    assert status_patch["status"]["phase"] == "Failed"
    [cond] = status_patch["status"]["conditions"]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
        "DisruptionTarget", "True", "DeletionByPodGC", "PodGC: node no longer exists")
    assert delete == {"gracePeriodSeconds": 0, "preconditions": {"uid": "orphan-uid"}}
    # a pod already Succeeded is deleted without a status write
    assert [verb for verb, _ in pod_writes(client, "done")] == ["delete"]


async def test_a_node_that_registers_during_the_quarantine_keeps_its_pods(
        gc: tuple[FakeClient, PodGCController]) -> None:
    client, controller = gc
    await client.put_direct("pods", pod("early", "late-node"))
    await controller.start()
    await asyncio.sleep(0.1)
    await client.put_direct("nodes", node("late-node"))
    await asyncio.sleep(0.6)
    assert client.get_obj("pods", "early", "default") is not None
    assert pod_writes(client, "early") == []


async def test_a_node_the_informer_missed_is_asked_of_the_api_server(
        gc: tuple[FakeClient, PodGCController]) -> None:
    """After the quarantine a GET decides: the informer may lag behind a new node."""
    client, controller = gc
    await client.put_direct("pods", pod("p", "racing"))
    await controller.start()
    client.objects[("nodes", "", "racing")] = node("racing")  # stored, no watch event
    await asyncio.sleep(0.6)
    assert client.get_obj("pods", "p", "default") is not None


async def test_terminating_pods_on_out_of_service_nodes_and_unscheduled_ones_go(
        gc: tuple[FakeClient, PodGCController]) -> None:
    client, controller = gc
    taint = [{"key": OUT_OF_SERVICE, "value": "nodeshutdown", "effect": "NoExecute"}]
    await client.put_direct("nodes", node("down", "Unknown"))
    await client.put_direct("nodes", node("ready", "True", taint))
    await client.put_direct("pods", pod("stuck", "down", deleting=True))
    await client.put_direct("pods", pod("running-on-down", "down"))
    await client.put_direct("pods", pod("stopping-on-ready", "ready", deleting=True))
    await controller.start()
    await asyncio.sleep(0.3)
    assert client.get_obj("pods", "stuck", "default") is not None  # no taint yet
    await client.put_direct("nodes", node("down", "Unknown", taint))
    await wait_for(lambda: client.get_obj("pods", "stuck", "default") is None,
                   "the terminating pod on the out-of-service node deleted")
    assert [verb for verb, _ in pod_writes(client, "stuck")] == ["patch/status", "delete"]
    assert pod_writes(client, "stuck")[0][1]["status"] == {"phase": "Failed"}
    await client.put_direct("pods", pod("never-scheduled", deleting=True))
    await wait_for(lambda: client.get_obj("pods", "never-scheduled", "default") is None,
                   "the unscheduled terminating pod deleted")
    assert client.get_obj("pods", "running-on-down", "default") is not None  # not terminating
    assert client.get_obj("pods", "stopping-on-ready", "default") is not None  # node Ready


async def test_terminated_pods_over_the_threshold_are_deleted_by_the_periodic_pass(
        gc: tuple[FakeClient, PodGCController]) -> None:
    client, controller = gc
    await client.put_direct("nodes", node("n"))
    for i in range(4):
        await client.put_direct("pods", pod(f"done-{i}", "n", phase="Succeeded",
                                            created=f"2025-01-01T0{i}:00:00Z"))
    await client.put_direct("pods", pod("running", "n", created="2025-01-01T00:00:00Z"))
    await controller.start()
    await wait_for(lambda: client.get_obj("pods", "done-1", "default") is None, "two pods collected")
    assert client.get_obj("pods", "done-0", "default") is None
    assert {n for (p, _, n) in client.objects if p == "pods"} == {"done-2", "done-3", "running"}
    await client.put_direct("pods", pod("done-4", "n", phase="Failed", created="2025-01-01T09:00:00Z"))
    await wait_for(lambda: client.get_obj("pods", "done-2", "default") is None,
                   "the next pass keeps the threshold")


async def test_a_pod_that_starts_terminating_on_an_out_of_service_node_goes_without_waiting() -> None:
    """The taint often comes first and the taint manager's delete after: that delete wakes the
    pass, not the next 20 s period."""
    client = FakeClient()
    controller = PodGCController(client, check_period=60)  # type: ignore[arg-type]
    taint = [{"key": OUT_OF_SERVICE, "value": "nodeshutdown", "effect": "NoExecute"}]
    await client.put_direct("nodes", node("down", "Unknown", taint))
    await client.put_direct("pods", pod("web", "down"))
    await controller.start()
    try:
        await asyncio.sleep(0.2)  # the first pass is over
        assert client.get_obj("pods", "web", "default") is not None  # running: not pod GC's
        await client.put_direct("pods", pod("web", "down", deleting=True))
        await wait_for(lambda: client.get_obj("pods", "web", "default") is None,
                       "the newly terminating pod deleted", timeout=3)
    finally:
        await controller.stop()
