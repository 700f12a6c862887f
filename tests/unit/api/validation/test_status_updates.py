"""ValidateXStatusUpdate for every kind with a /status subresource: Kubernetes' paths and words."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.types import apps_v1, core_v1, policy_v1
from kubelite.api.validation import apps, core, other, pod, service, storage

META = {"name": "x", "namespace": "default", "resourceVersion": "5"}


def make(t: type[msgspec.Struct], **fields: Any) -> Any:
    return msgspec.convert({"metadata": dict(META), **fields}, t)


def messages(errs: list[Any]) -> list[str]:
    return [e.message() for e in errs]


def test_pod_ips_one_per_family_and_host_ip_checked() -> None:
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    old = make(core_v1.Pod, spec=spec, status={"qosClass": "BestEffort"})
    two_v4 = make(core_v1.Pod, spec=spec, status={
        "qosClass": "BestEffort", "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
        "hostIP": "300.1.1.1"})
    assert messages(pod.validate_pod_status_update(two_v4, old)) == [
        'status.podIPs: Invalid value: [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]: '
        "may specify no more than one IP for each IP family",
        'status.hostIPs[0]: Invalid value: "300.1.1.1": must be a valid IP address, '
        "(e.g. 10.9.8.7 or 2001:db8::ffff)"]
    dual = make(core_v1.Pod, spec=spec, status={
        "qosClass": "BestEffort", "podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]})
    assert pod.validate_pod_status_update(dual, old) == []


def test_pod_sidecar_and_ephemeral_transitions() -> None:
    spec = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}],
            "initContainers": [{"name": "side", "image": "busybox", "restartPolicy": "Always"},
                               {"name": "init", "image": "busybox"}]}
    done = {"terminated": {"exitCode": 0}}
    old = make(core_v1.Pod, spec=spec, status={
        "initContainerStatuses": [{"name": n, "image": "b", "imageID": "", "ready": False,
                                   "restartCount": 0, "state": done} for n in ("side", "init")],
        "ephemeralContainerStatuses": [{"name": "dbg", "image": "b", "imageID": "", "ready": False,
                                        "restartCount": 0, "state": done}]})
    running = {"running": {}}
    new = make(core_v1.Pod, spec=spec, status={
        "initContainerStatuses": [{"name": n, "image": "b", "imageID": "", "ready": True,
                                   "restartCount": 1, "state": running} for n in ("side", "init")],
        "ephemeralContainerStatuses": [{"name": "dbg", "image": "b", "imageID": "", "ready": True,
                                        "restartCount": 1, "state": running}]})
    assert [e.field for e in pod.validate_pod_status_update(new, old)] == [
        "status.initContainerStatuses[1].state", "status.ephemeralContainerStatuses[0].state"]


def test_namespace_phase_follows_deletion() -> None:
    old = make(core_v1.Namespace, status={"phase": "Active"})
    new = make(core_v1.Namespace, status={"phase": "Terminating"})
    assert messages(core.validate_namespace_status_update(new, old)) == [
        "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if "
        "`deletionTimestamp` is empty"]


def test_node_addresses_are_listed_once() -> None:
    address = {"type": "InternalIP", "address": "10.0.0.1"}
    old = msgspec.convert({"metadata": {"name": "n"}, "status": {}}, core_v1.Node)
    new = msgspec.convert({"metadata": {"name": "n"}, "status": {"addresses": [address, address]}},
                          core_v1.Node)
    assert [e.field for e in core.validate_node_status_update(new, old)] == ["status.addresses[1]"]


def test_resource_quota_status_names_and_quantities() -> None:
    old = make(core_v1.ResourceQuota, spec={})
    new = make(core_v1.ResourceQuota, spec={}, status={"used": {"pods": "-1", "bogus": "1"}})
    assert messages(core.validate_resource_quota_status_update(new, old)) == [
        'status.used[pods]: Invalid value: "-1": must be greater than or equal to 0',
        'status.used[bogus]: Invalid value: "bogus": must be a standard resource type or fully '
        "qualified"]


def test_service_load_balancer_ingress() -> None:
    old = make(core_v1.Service, spec={})
    new = make(core_v1.Service, spec={}, status={"loadBalancer": {"ingress": [
        {"hostname": "10.0.0.1"}, {"ip": "nope", "ipMode": "VIP"}, {"ipMode": "Proxy"}]}})
    assert messages(service.validate_service_status_update(new, old)) == [
        'status.loadBalancer.ingress[0].hostname: Invalid value: "10.0.0.1": must be a DNS name, '
        "not an IP address",
        'status.loadBalancer.ingress[1].ip: Invalid value: "nope": must be a valid IP address, '
        "(e.g. 10.9.8.7 or 2001:db8::ffff)",
        "status.loadBalancer.ingress[2].ipMode: Forbidden: may not be specified when `ip` is not set"]


def test_claim_capacity_is_a_quantity() -> None:
    old = make(core_v1.PersistentVolumeClaim, spec={"accessModes": ["ReadWriteOnce"]})
    new = make(core_v1.PersistentVolumeClaim, spec={"accessModes": ["ReadWriteOnce"]},
               status={"capacity": {"storage": "-1Gi"}})
    assert messages(storage.validate_persistent_volume_claim_status_update(new, old)) == [
        "status.capacity[storage]: Invalid value: -1073741824: must be a valid resource quantity"]


def test_deployment_counts_and_collision_count() -> None:
    old = make(apps_v1.Deployment, status={"collisionCount": 2})
    new = make(apps_v1.Deployment, status={"replicas": 1, "readyReplicas": 2, "availableReplicas": 3,
                                           "collisionCount": 1})
    assert messages(apps.validate_deployment_status_update(new, old)) == [
        "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
        "status.availableReplicas: Invalid value: 3: cannot be greater than status.replicas",
        "status.availableReplicas: Invalid value: 3: cannot be greater than readyReplicas",
        "status.collisionCount: Invalid value: 1: cannot be decremented"]


def test_replica_set_counts() -> None:
    old = make(apps_v1.ReplicaSet, status={"replicas": 0})
    new = make(apps_v1.ReplicaSet, status={"replicas": 1, "fullyLabeledReplicas": 2,
                                           "observedGeneration": -1})
    assert messages(apps.validate_replica_set_status_update(new, old)) == [
        "status.observedGeneration: Invalid value: -1: must be greater than or equal to 0",
        "status.fullyLabeledReplicas: Invalid value: 2: cannot be greater than status.replicas"]


def test_disruption_budget_counts_and_conditions() -> None:
    counts = {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}
    old = make(policy_v1.PodDisruptionBudget, status=counts)
    new = make(policy_v1.PodDisruptionBudget, status={**counts, "currentHealthy": -1, "conditions": [
        {"type": "DisruptionAllowed", "status": "Maybe", "reason": "", "message": "",
         "lastTransitionTime": "2024-01-01T00:00:00Z"}]})
    assert messages(other.validate_pod_disruption_budget_status_update(new, old)) == [
        'status.conditions[0].status: Unsupported value: "Maybe": supported values: "False", '
        '"True", "Unknown"',
        "status.conditions[0].reason: Required value: must be set",
        "status.currentHealthy: Invalid value: -1: must be greater than or equal to 0"]
