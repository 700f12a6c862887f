"""DaemonSet controller: node eligibility, the per-node plan, rolling updates, and the
controller against an in-memory API (one pinned pod per eligible node)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.controllers.daemonset import DaemonSetController, calculate_status, daemon_pod
from kubelite.controllers.daemonset_history import current_hash, stale_revisions
from kubelite.controllers.daemonset_nodes import add_default_tolerations, node_should_run
from kubelite.controllers.daemonset_plan import HASH_LABEL, manage, rolling_update, target_node
from kubelite.controllers.replication import ReplicationControllerController
from tests.unit.controllers.test_replicaset import WorkloadClient, pods_in, wait_until

Obj = dict[str, Any]
NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
CONTAINERS = [{"name": "agent", "image": "busybox"}]


def daemon_set(**spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default", "uid": "ds-uid", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": CONTAINERS, **spec.pop("pod", {})}},
                     "updateStrategy": {"type": "RollingUpdate",
                                        "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                     **spec}}


def node(name: str, labels: Obj | None = None, taints: list[Obj] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": f"uid-{name}", "labels": labels or {}},
            "spec": {"taints": taints or []}}


def dpod(name: str, node_name: str, hash_: str, ready: bool = True) -> Obj:
    return {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "creationTimestamp": "2025-01-01T10:00:00Z",
                         "labels": {"app": "agent", HASH_LABEL: hash_}},
            "spec": {"nodeName": node_name},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": "2025-01-01T11:00:00Z"}]}}


def test_default_tolerations_cover_node_conditions_and_cordon() -> None:
    spec: Obj = {"containers": CONTAINERS, "hostNetwork": True,
                 "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                  "effect": "NoExecute", "tolerationSeconds": 5}]}
    add_default_tolerations(spec)
    keys = {(t["key"], t["effect"]) for t in spec["tolerations"]}
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in keys
    assert ("node.kubernetes.io/unreachable", "NoExecute") in keys
    assert ("node.kubernetes.io/network-unavailable", "NoSchedule") in keys
    not_ready = [t for t in spec["tolerations"] if t["key"] == "node.kubernetes.io/not-ready"]
    assert not_ready == [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                          "effect": "NoExecute"}]  # replaced, as Kubernetes does


def test_daemon_pod_is_pinned_by_match_fields_and_labelled_with_its_revision() -> None:
    pod = daemon_pod(daemon_set(), "n2", "abc")
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                       "values": ["n2"]}]}]
    assert "nodeName" not in pod["spec"]  # the scheduler binds it
    assert pod["metadata"]["labels"][HASH_LABEL] == "abc"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    assert target_node(pod) == "n2"


def test_eligibility_by_selector_affinity_and_taints() -> None:
    spec: Obj = {"containers": CONTAINERS, "nodeSelector": {"disk": "ssd"}}
    assert not node_should_run(node("a"), spec).should_run
    assert node_should_run(node("a", {"disk": "ssd"}), spec).should_run
    tainted = node("t", {"disk": "ssd"}, [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    placement = node_should_run(tainted, spec)
    assert (placement.should_run, placement.should_continue_running) == (False, True)
    evicting = node("e", {"disk": "ssd"}, [{"key": "dedicated", "effect": "NoExecute"}])
    assert not node_should_run(evicting, spec).should_continue_running
    tolerant = {**spec, "tolerations": [{"key": "dedicated", "operator": "Exists"}]}
    assert node_should_run(tainted, tolerant).should_run
    cordoned = node("c", {"disk": "ssd"}, [{"key": "node.kubernetes.io/unschedulable",
                                            "effect": "NoSchedule"}])
    assert node_should_run(cordoned, spec).should_run  # the default toleration
    affinity = {"containers": CONTAINERS, "affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}]}}}}
    assert node_should_run(node("z", {"zone": "z1"}), affinity).should_run
    assert not node_should_run(node("y", {"zone": "z2"}), affinity).should_run


def test_manage_creates_missing_and_deletes_unwanted_and_duplicates() -> None:
    placements = {"a": (True, True), "b": (True, True), "c": (False, False)}
    dup = dpod("b2", "b", "h")
    dup["metadata"]["creationTimestamp"] = "2025-01-01T11:00:00Z"
    pods = {"b": [dpod("b1", "b", "h"), dup], "c": [dpod("c1", "c", "h")]}
    plan = manage(placements, pods, "h", surge_allowed=False)
    assert plan.create == ["a"]
    assert sorted(p["metadata"]["name"] for p in plan.delete) == ["b2", "c1"]


def test_rolling_update_replaces_one_node_at_a_time() -> None:
    ds = daemon_set()
    pods = {n: [dpod(f"{n}-old", n, "old")] for n in ("a", "b", "c")}
    plan = rolling_update(ds, pods, 3, "new", NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["a-old"]
    pods["a"] = [dpod("a-new", "a", "new", ready=False)]  # replacement not yet available
    assert rolling_update(ds, pods, 3, "new", NOW).delete == []
    pods["a"] = [dpod("a-new", "a", "new")]
    assert [p["metadata"]["name"] for p in rolling_update(ds, pods, 3, "new", NOW).delete] == ["b-old"]


def test_rolling_update_with_surge_starts_new_pods_beside_old_ones() -> None:
    ds = daemon_set(updateStrategy={"type": "RollingUpdate",
                                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    pods = {n: [dpod(f"{n}-old", n, "old")] for n in ("a", "b")}
    plan = rolling_update(ds, pods, 2, "new", NOW)
    assert (plan.create, plan.delete) == (["a"], [])
    pods["a"].append(dpod("a-new", "a", "new"))
    plan = rolling_update(ds, pods, 2, "new", NOW)
    assert [p["metadata"]["name"] for p in plan.delete] == ["a-old"]


def test_status_counts_desired_current_misscheduled_and_updated() -> None:
    placements = {"a": (True, True), "b": (True, True), "c": (False, True)}
    pods = {"a": [dpod("a1", "a", "new")], "b": [dpod("b1", "b", "old", ready=False)],
            "c": [dpod("c1", "c", "new")]}
    status = calculate_status(daemon_set(), placements, pods, "new", NOW)
    assert status == {"currentNumberScheduled": 2, "numberMisscheduled": 1,
                      "desiredNumberScheduled": 2, "numberReady": 1, "updatedNumberScheduled": 1,
                      "numberAvailable": 1, "numberUnavailable": 1, "observedGeneration": 1}


def test_history_keeps_revisions_in_use_and_the_newest() -> None:
    revs = [{"metadata": {"name": f"r{i}", "labels": {HASH_LABEL: f"h{i}"}}, "revision": i}
            for i in range(1, 6)]
    stale = stale_revisions(revs, {"h1"}, "h5", limit=2)
    assert [r["metadata"]["name"] for r in stale] == ["r2"]
    assert current_hash(daemon_set()) != current_hash(daemon_set(pod={"hostNetwork": True}))


@pytest.fixture
async def ds_running() -> AsyncIterator[tuple[WorkloadClient, DaemonSetController]]:
    client = WorkloadClient()
    controller = DaemonSetController(client)  # type: ignore[arg-type]
    await controller.start()
    try:
        yield client, controller
    finally:
        await controller.stop()


async def test_controller_runs_one_pod_per_eligible_node_and_follows_new_nodes(
        ds_running: tuple[WorkloadClient, DaemonSetController]) -> None:
    client, _ = ds_running
    await client.put_direct("nodes", node("n1"))
    await client.put_direct("nodes", node("n2", taints=[{"key": "gpu", "effect": "NoSchedule"}]))
    await client.put_direct("daemonsets", daemon_set())
    await wait_until(lambda: len(pods_in(client)) == 1)
    assert [target_node(p) for p in pods_in(client)] == ["n1"]
    await client.put_direct("nodes", node("n3"))
    await wait_until(lambda: sorted(target_node(p) for p in pods_in(client)) == ["n1", "n3"])
    await asyncio.sleep(0.2)
    assert client.count("create", "pods") == 2
    ds = client.get_obj("daemonsets", "agent", "default")
    assert ds is not None and ds["status"]["desiredNumberScheduled"] == 2
    revisions = [o for (plural, _, _), o in client.objects.items() if plural == "controllerrevisions"]
    assert len(revisions) == 1 and revisions[0]["revision"] == 1
    assert revisions[0]["data"]["spec"]["template"]["$patch"] == "replace"


async def test_replication_controller_reuses_the_replica_set_logic() -> None:
    client = WorkloadClient()
    controller = ReplicationControllerController(client)  # type: ignore[arg-type]
    await controller.start()
    try:
        await client.put_direct("replicationcontrollers", {
            "apiVersion": "v1", "kind": "ReplicationController",
            "metadata": {"name": "web", "namespace": "default", "uid": "rc-uid", "generation": 1},
            "spec": {"replicas": 2, "selector": {"app": "web"},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": CONTAINERS}}}})
        await wait_until(lambda: len(pods_in(client)) == 2)
        ref = pods_in(client)[0]["metadata"]["ownerReferences"][0]
        assert (ref["apiVersion"], ref["kind"]) == ("v1", "ReplicationController")
        await wait_until(lambda: (client.get_obj("replicationcontrollers", "web", "default")
                                  or {}).get("status", {}).get("replicas") == 2)
    finally:
        await controller.stop()
