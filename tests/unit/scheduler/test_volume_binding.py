"""VolumeBinding: bound PVs' node affinity, WaitForFirstConsumer claims annotated on bind."""

from __future__ import annotations

import random
from typing import Any

import msgspec

from kubelite.api.types import core_v1, storage_v1
from kubelite.scheduler import Algorithm, FitError, Scheduler
from kubelite.scheduler.cache import NodeInfo, Snapshot
from kubelite.scheduler.plugins.volume_binding import SELECTED_NODE_ANNOTATION, claim_names
from tests.helpers.wait import eventually
from tests.unit.scheduler.builders import FakeClient, make_node, make_pod


def claim(name: str, volume: str | None = None, sc: str | None = "local",
          annotations: dict[str, str] | None = None) -> core_v1.PersistentVolumeClaim:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}
    if volume:
        spec["volumeName"] = volume
    if sc is not None:
        spec["storageClassName"] = sc
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if annotations:
        meta["annotations"] = annotations
    return msgspec.convert({"metadata": meta, "spec": spec}, core_v1.PersistentVolumeClaim)


def volume(name: str, host: str) -> core_v1.PersistentVolume:
    return msgspec.convert({
        "metadata": {"name": name},
        "spec": {"capacity": {"storage": "1Gi"}, "local": {"path": "/mnt"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]}]}]}}},
    }, core_v1.PersistentVolume)


def storage_class(name: str, mode: str, zones: list[str] | None = None) -> storage_v1.StorageClass:
    body: dict[str, Any] = {"metadata": {"name": name}, "provisioner": "example.com/local",
                            "volumeBindingMode": mode}
    if zones:
        body["allowedTopologies"] = [{"matchLabelExpressions": [
            {"key": "topology.kubernetes.io/zone", "values": zones}]}]
    return msgspec.convert(body, storage_v1.StorageClass)


def pod_with_claim(name: str, claim_name: str) -> core_v1.Pod:
    return make_pod(name, volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}])


def snap(claims: list[core_v1.PersistentVolumeClaim], pvs: list[core_v1.PersistentVolume] = (),  # type: ignore[assignment]
         classes: list[storage_v1.StorageClass] = ()) -> Snapshot:  # type: ignore[assignment]
    nodes = [make_node(f"n{i}", labels={"topology.kubernetes.io/zone": f"z{i}"}) for i in range(3)]
    return Snapshot([NodeInfo(n) for n in nodes],
                    claims={f"default/{c.metadata.name}": c for c in claims},  # type: ignore[union-attr]
                    volumes={v.metadata.name: v for v in pvs},  # type: ignore[union-attr,misc]
                    storage_classes={c.metadata.name: c for c in classes})  # type: ignore[union-attr,misc]


def feasible(pod: core_v1.Pod, snapshot: Snapshot) -> dict[str, tuple[str, ...]]:
    """node -> refusal reasons (empty when it fits)."""
    return {r.node: r.reasons for r in Algorithm().explain(pod, snapshot)}


def test_claim_names_include_generic_ephemeral_volumes() -> None:
    pod = make_pod("web", volumes=[{"name": "a", "persistentVolumeClaim": {"claimName": "c1"}},
                                   {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {
                                       "spec": {"accessModes": ["ReadWriteOnce"]}}}},
                                   {"name": "e", "emptyDir": {}}])
    assert claim_names(pod) == ["c1", "web-scratch"]


def test_bound_volume_node_affinity_restricts_nodes() -> None:
    s = snap([claim("data", volume="pv1")], [volume("pv1", "n1")])
    result = feasible(pod_with_claim("p", "data"), s)
    assert result == {"n0": ("node(s) had volume node affinity conflict",), "n1": (),
                      "n2": ("node(s) had volume node affinity conflict",)}
    assert Algorithm().schedule(pod_with_claim("p", "data"), s).node == "n1"


def test_missing_claim_and_unbound_immediate_claim_refuse_every_node() -> None:
    s = snap([claim("imm", sc="fast")], classes=[storage_class("fast", "Immediate")])
    try:
        Algorithm().schedule(pod_with_claim("p", "nope"), s)
        raise AssertionError("expected FitError")
    except FitError as e:
        assert e.message.startswith('0/3 nodes are available: persistentvolumeclaim "nope" not found.')
    try:
        Algorithm().schedule(pod_with_claim("p", "imm"), s)
        raise AssertionError("expected FitError")
    except FitError as e:
        assert "pod has unbound immediate PersistentVolumeClaims" in e.message


def test_claim_bound_to_missing_volume_refuses() -> None:
    s = snap([claim("data", volume="gone")])
    assert set(feasible(pod_with_claim("p", "data"), s).values()) == {
        ("node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)",)}


def test_wait_for_first_consumer_honours_allowed_topologies_and_selected_node() -> None:
    s = snap([claim("wffc")], classes=[storage_class("local", "WaitForFirstConsumer", ["z2"])])
    result = feasible(pod_with_claim("p", "wffc"), s)
    assert result["n2"] == () and result["n0"] == (
        "node(s) didn't find available persistent volumes to bind",)
    chosen = snap([claim("wffc", annotations={SELECTED_NODE_ANNOTATION: "n0"})],
                  classes=[storage_class("local", "WaitForFirstConsumer")])
    assert [n for n, r in feasible(pod_with_claim("p", "wffc"), chosen).items() if not r] == ["n0"]


def test_pre_bind_annotates_waiting_claims_with_the_chosen_node() -> None:
    s = snap([claim("wffc")], classes=[storage_class("local", "WaitForFirstConsumer", ["z1"])])
    algo = Algorithm()
    pod = pod_with_claim("p", "wffc")
    result = algo.schedule(pod, s)
    patches = algo.pre_bind(result, pod)
    assert result.node == "n1"
    assert [(p.resource, p.namespace, p.name, p.body) for p in patches] == [(
        "persistentvolumeclaims", "default", "wffc",
        {"metadata": {"annotations": {SELECTED_NODE_ANNOTATION: "n1"}}})]


async def test_scheduler_patches_the_claim_before_binding_and_wakes_on_new_claims() -> None:
    client = FakeClient()
    sched = Scheduler(client, rng=random.Random(1), initial_backoff=0.01, max_backoff=0.05)
    await sched.start()
    try:
        client.put("nodes", make_node("n1"))
        client.put("storageclasses", storage_class("local", "WaitForFirstConsumer"))
        client.put("pods", pod_with_claim("db", "data"))  # its claim does not exist yet
        await eventually(lambda: any(e["reason"] == "FailedScheduling" for e in client.events))
        assert not client.bindings
        client.put("persistentvolumeclaims", claim("data"))
        await eventually(lambda: client.bindings == [("default/db", "n1")])
        assert ("default/data", {"metadata": {"annotations": {SELECTED_NODE_ANNOTATION: "n1"}}}) in client.patches
    finally:
        await sched.stop()
