"""Strategies: create/update/status preparation and validation for every registry kind."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest

from kubelite.api import registry
from kubelite.api.strategy import StatusStrategy, Strategy, status_strategy_for, strategy_for
from kubelite.api.types import apps_v1, core_v1


def kind(name: str, group: str = "") -> registry.Kind:
    k = registry.by_kind(group, "v1", name)
    assert k is not None
    return k


def make(t: type[msgspec.Struct], **fields: Any) -> Any:
    return msgspec.convert({"metadata": {"name": "web", "namespace": "default"}, **fields}, t)


POD_SPEC = {"containers": [{"name": "web", "image": "nginx:1.27",
                            "resources": {"requests": {"cpu": "100m"}}}]}


@pytest.mark.parametrize("k", registry.KINDS, ids=[k.kind for k in registry.KINDS])
def test_every_kind_has_a_strategy(k: registry.Kind) -> None:
    assert isinstance(strategy_for(k), Strategy)
    assert strategy_for(k) is strategy_for(k)


def test_pod_create_sets_pending_qos_and_clears_client_status() -> None:
    s = strategy_for(kind("Pod"))
    pod = make(core_v1.Pod, spec=POD_SPEC, status={"phase": "Running", "podIP": "1.2.3.4"})
    s.prepare_for_create(pod)
    assert msgspec.to_builtins(pod.status) == {"phase": "Pending", "qosClass": "Burstable"}
    assert pod.spec.service_account_name is None  # admission's, after managedFields
    s.admit_create(pod)
    assert pod.spec.service_account_name == "default"
    assert s.validate(pod) == []


def test_pod_create_with_scheduling_gates_is_marked_gated() -> None:
    s = strategy_for(kind("Pod"))
    pod = make(core_v1.Pod, spec={**POD_SPEC, "schedulingGates": [{"name": "wait"}]})
    s.prepare_for_create(pod)
    cond = pod.status.conditions[0]
    assert (cond.type, cond.status, cond.reason) == ("PodScheduled", "False", "SchedulingGated")


def test_pod_negative_grace_period_becomes_one() -> None:
    s = strategy_for(kind("Pod"))
    pod = make(core_v1.Pod, spec={**POD_SPEC, "terminationGracePeriodSeconds": -1})
    s.prepare_for_create(pod)
    assert pod.spec.termination_grace_period_seconds == 1


def test_pod_update_keeps_status_and_validates_spec_changes() -> None:
    s = strategy_for(kind("Pod"))
    old = make(core_v1.Pod, spec=POD_SPEC)
    s.prepare_for_create(old)
    old.status.phase = "Running"
    new = msgspec.convert(msgspec.to_builtins(old), core_v1.Pod)
    new.status = core_v1.PodStatus(phase="Failed")
    new.spec.restart_policy = "Never"
    s.prepare_for_update(new, old)
    assert new.status.phase == "Running"
    errs = s.validate_update(new, old)
    assert errs and errs[0].field == "spec"


@pytest.mark.parametrize("k", [k for k in registry.KINDS if k.has_subresource("status")],
                         ids=lambda k: k.kind)
def test_every_status_subresource_has_a_status_strategy(k: registry.Kind) -> None:
    assert isinstance(status_strategy_for(k), StatusStrategy)
    assert status_strategy_for(k) is status_strategy_for(k)


def created_pod_and_copy() -> tuple[core_v1.Pod, core_v1.Pod]:
    """A pod as stored after its create, and a copy to write as its next status."""
    old = make(core_v1.Pod, spec=POD_SPEC)
    strategy_for(kind("Pod")).prepare_for_create(old)
    return old, msgspec.convert(msgspec.to_builtins(old), core_v1.Pod)


def test_pod_status_update_keeps_spec_and_owner_references() -> None:
    old, new = created_pod_and_copy()
    new.spec.node_name = "elsewhere"
    new.status.phase = "Running"
    new.status.qos_class = None  # an old kubelet drops it: the stored one stays
    new.metadata.labels = {"a": "b"}
    new.metadata.owner_references = [{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "u"}]
    status = status_strategy_for(kind("Pod"))
    status.prepare_for_update(new, old)
    assert new.spec == old.spec
    assert new.status.phase == "Running"
    assert new.status.qos_class == "Burstable"
    assert new.metadata.labels == {"a": "b"}
    assert new.metadata.owner_references is None
    assert status.validate_update(new, old) == []


def test_pod_status_update_runs_pod_status_validation() -> None:
    old, new = created_pod_and_copy()
    new.status.pod_ip = "not-an-ip"
    new.status.qos_class = "BestEffort"
    status = status_strategy_for(kind("Pod"))
    status.prepare_for_update(new, old)
    assert [e.field for e in status.validate_update(new, old)] == [
        "status.qosClass", "status.podIPs[0]"]
    # the main resource's checks would let it by
    assert strategy_for(kind("Pod")).validate_update(new, old) == []


def deployment(replicas: int = 1) -> apps_v1.Deployment:
    d: apps_v1.Deployment = make(apps_v1.Deployment, spec={
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}})
    return d


def test_deployment_generation() -> None:
    s = strategy_for(kind("Deployment", "apps"))
    old = deployment()
    s.prepare_for_create(old)
    assert old.metadata is not None and old.metadata.generation == 1
    assert s.validate(old) == []
    same = deployment()
    s.prepare_for_update(same, old)
    assert same.metadata is not None and same.metadata.generation == 1
    scaled = deployment(3)
    s.prepare_for_update(scaled, old)
    assert scaled.metadata is not None and scaled.metadata.generation == 2


def test_deployment_status_update_keeps_spec_and_labels() -> None:
    s = strategy_for(kind("Deployment", "apps"))
    old = deployment()
    s.prepare_for_create(old)
    new = deployment(5)
    assert new.metadata is not None
    new.metadata.labels = {"x": "y"}
    new.status = apps_v1.DeploymentStatus(replicas=1)
    status_strategy_for(kind("Deployment", "apps")).prepare_for_update(new, old)
    assert new.spec == old.spec
    assert new.metadata.labels is None
    assert new.status.replicas == 1


def test_namespace_gets_kubernetes_finalizer() -> None:
    s = strategy_for(kind("Namespace"))
    ns = msgspec.convert({"metadata": {"name": "team"}}, core_v1.Namespace)
    s.prepare_for_create(ns)
    assert ns.spec is not None and ns.spec.finalizers == ["kubernetes"]
    assert ns.status is not None and ns.status.phase == "Active"
    assert s.validate(ns) == []


def test_node_keeps_status_on_create() -> None:
    s = strategy_for(kind("Node"))
    node = msgspec.convert({"metadata": {"name": "n1"},
                            "status": {"capacity": {"cpu": "2"}}}, core_v1.Node)
    s.prepare_for_create(node)
    assert node.status is not None and node.status.allocatable == {"cpu": "2"}


def test_secret_string_data_is_folded_into_data() -> None:
    s = strategy_for(kind("Secret"))
    secret = make(core_v1.Secret, stringData={"password": "hunter2"}, data={"user": "YQ=="})
    s.prepare_for_create(secret)
    assert secret.string_data is None
    assert secret.data == {"user": "YQ==", "password": base64.b64encode(b"hunter2").decode()}
    assert secret.type == "Opaque"


def test_config_map_uses_its_validator() -> None:
    s = strategy_for(kind("ConfigMap"))
    cm = make(core_v1.ConfigMap, data={"bad key": "v"})
    s.prepare_for_create(cm)
    assert [e.field for e in s.validate(cm)] == ["data[bad key]"]


def test_update_validation_includes_metadata_immutability() -> None:
    s = strategy_for(kind("ConfigMap"))
    old, new = make(core_v1.ConfigMap), make(core_v1.ConfigMap)
    new.metadata.uid = "changed"
    assert [e.message() for e in s.validate_update(new, old)] == [
        'metadata.uid: Invalid value: "changed": field is immutable']
