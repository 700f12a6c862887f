"""Node lifecycle: taints that follow Ready, eviction times from tolerations, Unknown conditions,
and the controller marking a silent node against an in-memory API."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from kubelite.controllers.nodelifecycle import (
    NOT_READY,
    UNREACHABLE,
    NodeLifecycleController,
    disruption_condition,
    eviction_time,
    lifecycle_taints,
    unknown_conditions,
)
from tests.unit.sim.fake_client import FakeClient

Obj = dict[str, Any]
NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
ADDED = "2025-01-01T11:59:00Z"


def test_taints_follow_the_ready_status_and_keep_their_time() -> None:
    user = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
    unknown = lifecycle_taints("Unknown", [user], NOW)
    assert {(t["key"], t["effect"]) for t in unknown} == {
        ("dedicated", "NoSchedule"), (UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    assert [t for t in unknown if t["effect"] == "NoExecute"][0]["timeAdded"] == "2025-01-01T12:00:00Z"
    again = lifecycle_taints("Unknown", unknown, NOW + dt.timedelta(minutes=5))
    assert again == unknown  # unchanged: timeAdded is kept
    not_ready = lifecycle_taints("False", unknown, NOW)
    assert {t["key"] for t in not_ready} == {"dedicated", NOT_READY}
    assert lifecycle_taints("True", not_ready, NOW) == [user]


def test_eviction_time_from_tolerations() -> None:
    taints = [{"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": ADDED}]
    default = {"spec": {"tolerations": [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                         "tolerationSeconds": 300}]}}
    assert eviction_time(default, taints) == dt.datetime(2025, 1, 1, 12, 4, tzinfo=dt.UTC)
    assert eviction_time(default, taints, cap=5) == dt.datetime(2025, 1, 1, 11, 59, 5, tzinfo=dt.UTC)
    forever = {"spec": {"tolerations": [{"operator": "Exists"}]}}
    assert eviction_time(forever, taints) is None
    none: Obj = {"spec": {}}
    assert eviction_time(none, taints) == dt.datetime(2025, 1, 1, 11, 59, tzinfo=dt.UTC)
    assert eviction_time(none, [{"key": "x", "effect": "NoSchedule"}]) is None
    # a taint written without timeAdded (kubectl taint) counts from now: due now, not later
    out_of_service = [{"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute"}]
    assert eviction_time(default, out_of_service, now=NOW) == NOW


def test_unknown_conditions_keep_heartbeats() -> None:
    node = {"status": {"conditions": [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": ADDED, "reason": "KubeletReady"},
        {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": ADDED}]}}
    conds = {c["type"]: c for c in unknown_conditions(node, NOW)}
    assert conds["Ready"]["status"] == "Unknown"
    assert conds["Ready"]["reason"] == "NodeStatusUnknown"
    assert conds["Ready"]["message"] == "Kubelet stopped posting node status."
    assert conds["Ready"]["lastHeartbeatTime"] == ADDED
    assert conds["DiskPressure"]["status"] == "Unknown"


def test_disruption_condition_is_added_once_and_keeps_its_transition_time() -> None:
    pod: Obj = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    cond = disruption_condition(pod, NOW)
    assert cond == {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                    "message": "Taint manager: deleting due to NoExecute taint",
                    "lastTransitionTime": "2025-01-01T12:00:00Z"}
    pod["status"]["conditions"].append(cond)
    assert disruption_condition(pod, NOW + dt.timedelta(minutes=1)) is None  # nothing to update
    # Another component's DisruptionTarget (True) is rewritten, its transition time kept.
    other = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
             "message": "Eviction API: evicting", "lastTransitionTime": ADDED}
    again = disruption_condition({"status": {"conditions": [other]}}, NOW)
    assert again is not None and again["reason"] == "DeletionByTaintManager"
    assert again["lastTransitionTime"] == ADDED
    flipped = disruption_condition({"status": {"conditions": [dict(other, status="False")]}}, NOW)
    assert flipped is not None and flipped["lastTransitionTime"] == "2025-01-01T12:00:00Z"


async def test_silent_node_becomes_unknown_tainted_and_its_pods_go() -> None:
    client = FakeClient()
    events: list[str] = []

    async def create_event(obj: Obj, reason: str, message: str, **kw: Any) -> None:
        events.append(reason)
    client.create_event = create_event  # type: ignore[attr-defined]
    await client.put_direct("nodes", {"metadata": {"name": "n1"}, "spec": {}, "status": {"conditions": [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": ADDED}]}})
    await client.put_direct("pods", {"metadata": {"name": "p", "namespace": "default", "uid": "p-uid"},
                                     "spec": {"nodeName": "n1", "tolerations": [
                                         {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                                          "tolerationSeconds": 300}]},
                                     "status": {"phase": "Running", "conditions": [
                                         {"type": "Ready", "status": "True"}]}})
    controller = NodeLifecycleController(client, grace_period=0.3, monitor_period=0.1,  # type: ignore[arg-type]
                                         eviction_cap=0.2)
    await controller.start()
    try:
        deadline = asyncio.get_running_loop().time() + 5
        while client.get_obj("pods", "p", "default") is not None:
            assert asyncio.get_running_loop().time() < deadline, "the pod was never evicted"
            await asyncio.sleep(0.05)
    finally:
        await controller.stop()
    node = client.get_obj("nodes", "n1")
    assert node is not None
    assert node["status"]["conditions"][0]["status"] == "Unknown"
    assert {(t["key"], t["effect"]) for t in node["spec"]["taints"]} == {
        (UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    assert "TaintManagerEviction" in events and "NodeNotReady" in events
    # Before the delete, the pod was marked a DisruptionTarget through its status.
    writes = [(verb, body) for verb, plural, name, body in client.writes if plural == "pods" and name == "p"]
    verbs = [verb for verb, _ in writes]
    assert verbs[-2:] == ["patch/status", "delete"], verbs
    patch = writes[-2][1]
    assert patch["metadata"] == {"uid": "p-uid"}
    [cond] = patch["status"]["conditions"]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
        "DisruptionTarget", "True", "DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint")


async def test_a_healthy_node_is_looked_at_once_per_grace_period_not_per_heartbeat() -> None:
    """Lease renewals only note the time; the node's check waits for its grace period to run
    out (5,000 nodes renewing every 10 s must not mean 500 reconciles a second)."""
    client = FakeClient()
    await client.put_direct("nodes", {"metadata": {"name": "n1"}, "spec": {}, "status": {"conditions": [
        {"type": "Ready", "status": "True", "lastHeartbeatTime": ADDED}]}})
    controller = NodeLifecycleController(client, grace_period=0.6, monitor_period=0.02)  # type: ignore[arg-type]
    checks: list[str] = []
    reconcile = controller.reconcile

    async def counted(name: str) -> float | None:
        checks.append(name)
        return await reconcile(name)
    controller.reconcile = counted  # type: ignore[method-assign]
    await controller.start()
    try:
        for n in range(15):  # renew every 0.1 s for 1.5 s
            await client.put_direct("leases", {"metadata": {"name": "n1", "namespace": "kube-node-lease"},
                                               "spec": {"renewTime": f"2025-01-01T12:00:{n:02d}.000000Z"}})
            await asyncio.sleep(0.1)
        node = client.get_obj("nodes", "n1")
        assert node is not None and node["status"]["conditions"][0]["status"] == "True"
        # first sight, then about one check per 0.6 s of grace: not 15 (heartbeats) or 75 (monitor period)
        assert 1 <= len(checks) <= 5, checks
        deadline = asyncio.get_running_loop().time() + 3
        while client.get_obj("nodes", "n1")["status"]["conditions"][0]["status"] != "Unknown":  # type: ignore[index]
            assert asyncio.get_running_loop().time() < deadline, "the silent node never went Unknown"
            await asyncio.sleep(0.05)
    finally:
        await controller.stop()
