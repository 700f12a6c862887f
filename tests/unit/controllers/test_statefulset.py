"""StatefulSet controller: identity and history helpers, and the controller against an
in-memory API (ordered creation, claims, rolling update in reverse order, retention)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.controllers.statefulset import StatefulSetController
from kubelite.controllers.statefulset_history import (
    history_to_drop,
    new_revision,
    same_data,
    template_of,
)
from kubelite.controllers.statefulset_identity import claim_owner_refs, new_pod
from tests.unit.controllers.test_replicaset import WorkloadClient, wait_until

Obj = dict[str, Any]


def stateful_set(replicas: int = 2, policy: str = "OrderedReady", env: str = "1",
                 retention: Obj | None = None) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "sts-uid", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "web", "podManagementPolicy": policy,
                     "selector": {"matchLabels": {"app": "web"}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                     "persistentVolumeClaimRetentionPolicy": retention or {
                         "whenDeleted": "Retain", "whenScaled": "Retain"},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox",
                                                           "env": [{"name": "V", "value": env}]}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                               "spec": {"accessModes": ["ReadWriteOnce"]}}]}}


def test_pod_identity_hostname_subdomain_and_claim_volume() -> None:
    sts = stateful_set()
    pod = new_pod(sts, sts["spec"]["template"], 1, "web-abc")
    assert pod["metadata"]["name"] == "web-1"
    assert pod["metadata"]["labels"] == {
        "app": "web", "statefulset.kubernetes.io/pod-name": "web-1",
        "apps.kubernetes.io/pod-index": "1", "controller-revision-hash": "web-abc"}
    assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-1", "web")
    assert pod["spec"]["volumes"] == [{"name": "data",
                                       "persistentVolumeClaim": {"claimName": "data-web-1"}}]


def test_revision_round_trips_the_template_and_ignores_nothing_else() -> None:
    sts = stateful_set()
    rev = new_revision(sts, 1, 0)
    assert rev["metadata"]["name"].startswith("web-")
    assert rev["data"]["spec"]["template"]["$patch"] == "replace"
    assert template_of(rev) == sts["spec"]["template"]
    assert same_data(rev, new_revision(stateful_set(replicas=5), 2, 0))
    assert not same_data(rev, new_revision(stateful_set(env="2"), 2, 0))
    assert new_revision(sts, 1, 1)["metadata"]["name"] != rev["metadata"]["name"]


def test_history_keeps_live_revisions_and_the_limit() -> None:
    revs = [{"metadata": {"name": f"r{i}"}, "revision": i} for i in range(1, 6)]
    dropped = history_to_drop(revs, {"r1", "r5"}, 2)
    assert [r["metadata"]["name"] for r in dropped] == ["r2"]


def test_retention_owner_refs() -> None:
    sts = stateful_set(replicas=1, retention={"whenDeleted": "Delete", "whenScaled": "Delete"})
    claim = {"metadata": {"name": "data-web-0"}}
    in_range = {"metadata": {"name": "web-0", "uid": "p0"}}
    refs = claim_owner_refs(claim, sts, in_range)
    assert refs is not None and [r["kind"] for r in refs] == ["StatefulSet"]
    scaled = {"metadata": {"name": "web-3", "uid": "p3"}}
    refs = claim_owner_refs({"metadata": {"name": "data-web-3", "ownerReferences": refs}},
                            sts, scaled)
    assert refs is not None and [(r["kind"], r["uid"]) for r in refs] == [("Pod", "p3")]
    kept = stateful_set(replicas=1)
    assert claim_owner_refs(claim, kept, in_range) is None


@pytest.fixture
async def running() -> AsyncIterator[tuple[WorkloadClient, StatefulSetController]]:
    client = WorkloadClient()
    controller = StatefulSetController(client)  # type: ignore[arg-type]
    await controller.start()
    try:
        yield client, controller
    finally:
        await controller.stop()


def names(client: WorkloadClient, plural: str) -> list[str]:
    return sorted(n for (p, _, n) in client.objects if p == plural)


async def make_ready(client: WorkloadClient, name: str) -> None:
    pod = copy.deepcopy(client.get_obj("pods", name, "default"))
    assert pod is not None
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z"}]}
    await client.put_direct("pods", pod)


async def test_ordered_ready_creates_in_order_with_claims_first(
        running: tuple[WorkloadClient, StatefulSetController]) -> None:
    client, _ = running
    await client.put_direct("statefulsets", stateful_set())
    await wait_until(lambda: names(client, "pods") == ["web-0"])
    assert names(client, "persistentvolumeclaims") == ["data-web-0"]
    assert len(names(client, "controllerrevisions")) == 1
    await make_ready(client, "web-0")
    await wait_until(lambda: names(client, "pods") == ["web-0", "web-1"])
    await make_ready(client, "web-1")
    await wait_until(lambda: (client.get_obj("statefulsets", "web", "default") or {})
                     .get("status", {}).get("readyReplicas") == 2)
    assert names(client, "persistentvolumeclaims") == ["data-web-0", "data-web-1"]


async def test_parallel_creates_all_at_once(
        running: tuple[WorkloadClient, StatefulSetController]) -> None:
    client, _ = running
    await client.put_direct("statefulsets", stateful_set(replicas=3, policy="Parallel"))
    await wait_until(lambda: names(client, "pods") == ["web-0", "web-1", "web-2"])


async def test_rolling_update_replaces_in_reverse_order(
        running: tuple[WorkloadClient, StatefulSetController]) -> None:
    client, _ = running
    await client.put_direct("statefulsets", stateful_set())
    for name in ("web-0", "web-1"):
        await wait_until(lambda n=name: n in names(client, "pods"))  # type: ignore[misc]
        await make_ready(client, name)
    old_rev = client.get_obj("pods", "web-0", "default")["metadata"]["labels"][  # type: ignore[index]
        "controller-revision-hash"]
    changed = stateful_set(env="2")
    changed["metadata"]["generation"] = 2
    await client.put_direct("statefulsets", changed)
    await wait_until(lambda: client.count("delete", "pods", "web-1") == 1)
    assert client.count("delete", "pods", "web-0") == 0  # highest ordinal first
    await wait_until(lambda: "web-1" in names(client, "pods"))
    new_rev = client.get_obj("pods", "web-1", "default")["metadata"]["labels"][  # type: ignore[index]
        "controller-revision-hash"]
    assert new_rev != old_rev
    await make_ready(client, "web-1")
    await wait_until(lambda: client.count("delete", "pods", "web-0") == 1)
    assert names(client, "persistentvolumeclaims") == ["data-web-0", "data-web-1"]
