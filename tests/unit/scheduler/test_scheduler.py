"""The Scheduler end to end against a fake in-memory client: bind, events, requeue on events."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from kubelite.scheduler import Scheduler, num_feasible_nodes_to_find
from tests.helpers.wait import eventually
from tests.unit.scheduler.builders import FakeClient, make_node, make_pod


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[FakeClient, Scheduler]]:
    client = FakeClient()
    sched = Scheduler(client, rng=random.Random(1), initial_backoff=0.01, max_backoff=0.05)
    await sched.start()
    try:
        yield client, sched
    finally:
        await sched.stop()


async def test_binds_a_pod_and_records_scheduled_event(cluster: tuple[FakeClient, Scheduler]) -> None:
    client, _ = cluster
    client.put("nodes", make_node("n1"))
    client.put("pods", make_pod("web", cpu="100m"))
    await eventually(lambda: client.bindings == [("default/web", "n1")])
    await eventually(lambda: any(e["reason"] == "Scheduled" for e in client.events))
    ev = next(e for e in client.events if e["reason"] == "Scheduled")
    assert ev["message"] == "Successfully assigned default/web to n1" and ev["type"] == "Normal"


async def test_unschedulable_pod_gets_kubernetes_message_and_condition(
        cluster: tuple[FakeClient, Scheduler]) -> None:
    client, _ = cluster
    for i in range(2):
        client.put("nodes", make_node(f"small{i}", cpu="1"))
    for i in range(3):
        client.put("nodes", make_node(f"other{i}", cpu="8", labels={"disk": "hdd"}))
    client.put("pods", make_pod("big", cpu="2", nodeSelector={"disk": "ssd"}))
    await eventually(lambda: any(e["reason"] == "FailedScheduling" for e in client.events))
    ev = next(e for e in client.events if e["reason"] == "FailedScheduling")
    assert ev["type"] == "Warning"
    assert ev["message"] == (
        "0/5 nodes are available: 5 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling.")
    key, body = client.patches[0]
    cond = body["status"]["conditions"][0]
    assert key == "default/big" and cond["type"] == "PodScheduled" and cond["status"] == "False"
    assert cond["reason"] == "Unschedulable" and cond["message"] == ev["message"]


async def test_refused_pod_is_retried_when_a_node_is_added(cluster: tuple[FakeClient, Scheduler]) -> None:
    client, sched = cluster
    client.put("nodes", make_node("n1", cpu="1"))
    client.put("pods", make_pod("p", cpu="2"))
    await eventually(lambda: sched.queue.pending()["unschedulable"] == ["default/p"])
    msg = next(e["message"] for e in client.events if e["reason"] == "FailedScheduling")
    assert msg.startswith("0/1 nodes are available: 1 Insufficient cpu. preemption: ")
    client.put("nodes", make_node("n2", cpu="4"))
    await eventually(lambda: client.bindings == [("default/p", "n2")])


async def test_assumed_pods_count_before_the_watch_confirms(cluster: tuple[FakeClient, Scheduler]) -> None:
    client, _ = cluster
    client.put("nodes", make_node("n1", cpu="1"))
    client.put("nodes", make_node("n2", cpu="1"))
    for i in range(2):
        client.put("pods", make_pod(f"p{i}", cpu="700m"))
    await eventually(lambda: len(client.bindings) == 2)
    assert {node for _, node in client.bindings} == {"n1", "n2"}


async def test_failed_binding_is_forgotten_and_retried(cluster: tuple[FakeClient, Scheduler]) -> None:
    client, sched = cluster
    client.fail_binds = 1
    client.put("nodes", make_node("n1", cpu="1"))
    client.put("pods", make_pod("p", cpu="800m"))
    await eventually(lambda: client.bindings == [("default/p", "n1")])
    assert any(e["message"].startswith("Binding rejected:") for e in client.events)
    assert sched.cache.nodes["n1"].requested.milli_cpu == 800  # counted once, not twice


async def test_other_schedulers_pods_are_left_alone(cluster: tuple[FakeClient, Scheduler]) -> None:
    client, _ = cluster
    client.put("nodes", make_node("n1"))
    client.put("pods", make_pod("mine"))
    client.put("pods", make_pod("theirs", schedulerName="other"))
    await eventually(lambda: client.bindings == [("default/mine", "n1")])
    await asyncio.sleep(0.05)
    assert client.bindings == [("default/mine", "n1")]


async def test_explain_reports_filters_and_scores(cluster: tuple[FakeClient, Scheduler]) -> None:
    client, sched = cluster
    client.put("nodes", make_node("a", cpu="1"))
    client.put("nodes", make_node("b", cpu="4"))
    client.put("nodes", make_node("c", cpu="8"))
    await eventually(lambda: len(sched.cache.nodes) == 3)
    reports = {r.node: r for r in sched.explain(make_pod("x", cpu="2"))}
    assert not reports["a"].feasible and reports["a"].plugin == "NodeResourcesFit"
    assert reports["a"].reasons == ("Insufficient cpu",)
    assert reports["c"].total > reports["b"].total
    assert "NodeResourcesFit" in reports["c"].scores


def test_percentage_of_nodes_to_score_formula() -> None:
    assert num_feasible_nodes_to_find(50) == 50
    assert num_feasible_nodes_to_find(1000) == 420  # 50 - 1000/125 = 42 %
    assert num_feasible_nodes_to_find(5000) == 500  # 50 - 40 = 10 %
    assert num_feasible_nodes_to_find(10000) == 500  # floor of 5 %
    assert num_feasible_nodes_to_find(150) == 100  # never fewer than 100
    assert num_feasible_nodes_to_find(1000, percentage=20) == 200


async def test_shared_informers_one_pods_watch_feeds_pending_and_assigned() -> None:
    from kubelite.client.informer import Informer
    client = FakeClient()
    made: dict[str, Informer] = {}

    def source(kind: str) -> Informer:
        return made.setdefault(kind, Informer(client, kind, raw=True))  # type: ignore[arg-type]

    sched = Scheduler(client, rng=random.Random(1), initial_backoff=0.01, max_backoff=0.05,
                      informers=source)
    await sched.start()
    try:
        client.put("nodes", make_node("n1"))
        client.put("pods", make_pod("web", cpu="100m"))
        await eventually(lambda: client.bindings == [("default/web", "n1")])
        await eventually(lambda: sched.assigned.get("default/web") is not None)
        assert sched.pending.get("default/web") is None
        assert [w[0] for w in client.watchers].count("pods") == 1  # one watch, not two
        assert all(w[1] is None for w in client.watchers)  # selection is local
    finally:
        await sched.stop()
        for inf in made.values():
            await inf.stop()
