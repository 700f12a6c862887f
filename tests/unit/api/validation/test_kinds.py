"""Validation of kinds other than Pod: one or two telling rules each."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
import pytest

from kubelite.api.types import (
    apps_v1,
    coordination_v1,
    core_v1,
    discovery_v1,
    policy_v1,
    storage_v1,
)
from kubelite.api.validation import apps, core, other, service, storage
from kubelite.api.validation.errors import FieldError


def obj(t: type[msgspec.Struct], namespaced: bool = True, **fields: Any) -> Any:
    meta = {"name": "x", "namespace": "default"} if namespaced else {"name": "x"}
    return msgspec.convert({"metadata": meta, **fields}, t)


def msgs(errors: list[FieldError]) -> list[str]:
    return [e.message() for e in errors]


def test_namespace_name_is_a_label() -> None:
    ns = msgspec.convert({"metadata": {"name": "a.b"}}, core_v1.Namespace)
    assert msgs(core.validate_namespace(ns))[0].startswith(
        'metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label')


def test_cluster_scoped_kind_refuses_namespace() -> None:
    node = msgspec.convert({"metadata": {"name": "n", "namespace": "x"}}, core_v1.Node)
    assert msgs(core.validate_node(node)) == [
        "metadata.namespace: Forbidden: not allowed on this type"]


def test_node_taints() -> None:
    node = obj(core_v1.Node, False, spec={"taints": [{"key": "k", "effect": "Sometimes"}]})
    assert msgs(core.validate_node(node)) == [
        'spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"']


def test_config_map_keys_and_size() -> None:
    cm = obj(core_v1.ConfigMap, data={"bad key": "v"})
    assert msgs(core.validate_config_map(cm)) == [
        'data[bad key]: Invalid value: "bad key": a valid config key must consist of '
        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
        "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]
    big = obj(core_v1.ConfigMap, data={"a": "x" * (1024 * 1024 + 1)})
    assert msgs(core.validate_config_map(big)) == [
        "[]: Too long: may not be more than 1048576 bytes"]


def test_immutable_config_map() -> None:
    old = obj(core_v1.ConfigMap, data={"a": "1"}, immutable=True)
    new = obj(core_v1.ConfigMap, data={"a": "2"}, immutable=True)
    assert msgs(core.validate_config_map_update(new, old)) == [
        "data: Forbidden: field is immutable when `immutable` is set"]


@pytest.mark.parametrize(("kind", "data", "expected"), [
    ("Opaque", {}, []),
    ("kubernetes.io/tls", {"tls.crt": "eA=="},
     ["data[tls.key]: Required value"]),
    ("kubernetes.io/basic-auth", {}, ["data[username]: Required value",
                                      "data[password]: Required value"]),
])
def test_secret_types(kind: str, data: dict[str, str], expected: list[str]) -> None:
    secret = obj(core_v1.Secret, type=kind, data=data)
    assert msgs(core.validate_secret(secret)) == expected


def test_secret_size_counts_decoded_bytes() -> None:
    value = base64.b64encode(b"x" * (1024 * 1024 + 1)).decode()
    secret = obj(core_v1.Secret, data={"a": value})
    assert msgs(core.validate_secret(secret)) == ["data: Too long: may not be more than 1048576 bytes"]


def test_secret_type_is_immutable() -> None:
    old, new = obj(core_v1.Secret, type="Opaque"), obj(core_v1.Secret, type="kubernetes.io/tls",
                                                       data={"tls.crt": "", "tls.key": ""})
    assert msgs(core.validate_secret_update(new, old)) == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable']


def svc(**spec: Any) -> core_v1.Service:
    base = {"type": "ClusterIP", "sessionAffinity": "None",
            "ports": [{"port": 80, "protocol": "TCP"}]}
    return obj(core_v1.Service, spec={**base, **spec})


@pytest.mark.parametrize(("spec", "expected"), [
    ({}, []),
    ({"type": "Internal"}, ['spec.type: Unsupported value: "Internal": supported values: '
                            '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"']),
    ({"ports": []}, ["spec.ports: Required value"]),
    ({"ports": [{"port": 80, "protocol": "TCP"}, {"port": 81, "protocol": "TCP"}]},
     ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"]),
    ({"ports": [{"port": 0, "protocol": "TCP"}]},
     ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"]),
    ({"sessionAffinity": "Sticky"},
     ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", '
      '"None"']),
    ({"selector": {"app": "bad value"}},
     ['spec.selector: Invalid value: "bad value": a valid label must be an empty string or '
      "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
      "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
      "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
])
def test_service(spec: dict[str, Any], expected: list[str]) -> None:
    assert msgs(service.validate_service(svc(**spec))) == expected


def test_service_name_is_dns1035() -> None:
    s = svc()
    assert s.metadata is not None
    s.metadata.name = "1web"
    assert msgs(service.validate_service(s))[0].startswith(
        'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case')


def test_endpoints_ip() -> None:
    ep = obj(core_v1.Endpoints, subsets=[{"addresses": [{"ip": "10.0.0.300"}],
                                          "ports": [{"port": 80, "protocol": "TCP"}]}])
    assert msgs(service.validate_endpoints(ep)) == [
        'subsets[0].addresses[0].ip: Invalid value: "10.0.0.300": must be a valid IP address, '
        "(e.g. 10.9.8.7 or 2001:db8::ffff)"]


def test_endpoint_slice_address_type() -> None:
    es = obj(discovery_v1.EndpointSlice, addressType="IPv5", endpoints=[{"addresses": ["1.2.3.4"]}])
    assert msgs(service.validate_endpoint_slice(es)) == [
        'addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"']


def test_persistent_volume() -> None:
    pv = obj(core_v1.PersistentVolume, False,
             spec={"accessModes": ["ReadWriteSometimes"], "capacity": {"storage": "0"},
                   "hostPath": {"path": "/x"}})
    assert msgs(storage.validate_persistent_volume(pv)) == [
        'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: '
        '"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
        'spec.capacity[storage]: Invalid value: "0": must be greater than zero']


def test_persistent_volume_needs_a_source() -> None:
    pv = obj(core_v1.PersistentVolume, False,
             spec={"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}})
    assert msgs(storage.validate_persistent_volume(pv)) == [
        "spec: Required value: must specify a volume type"]


def test_pvc_needs_access_modes_and_storage() -> None:
    pvc = obj(core_v1.PersistentVolumeClaim, spec={})
    assert msgs(storage.validate_persistent_volume_claim(pvc)) == [
        "spec.accessModes: Required value: at least 1 access mode is required",
        "spec.resources[storage]: Required value"]


def test_pvc_spec_immutable_except_requests() -> None:
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    old = obj(core_v1.PersistentVolumeClaim, spec=spec)
    bigger = obj(core_v1.PersistentVolumeClaim,
                 spec={**spec, "resources": {"requests": {"storage": "2Gi"}}})
    assert msgs(storage.validate_persistent_volume_claim_update(bigger, old)) == []
    changed = obj(core_v1.PersistentVolumeClaim, spec={**spec, "accessModes": ["ReadWriteMany"]})
    assert msgs(storage.validate_persistent_volume_claim_update(changed, old)) == [
        "spec: Forbidden: " + storage.PVC_SPEC_IMMUTABLE]


def test_storage_class() -> None:
    sc = msgspec.convert({"metadata": {"name": "s"}, "provisioner": "x",
                          "volumeBindingMode": "Later"}, storage_v1.StorageClass)
    assert msgs(storage.validate_storage_class(sc)) == [
        'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", '
        '"WaitForFirstConsumer"']


def deployment(**spec: Any) -> apps_v1.Deployment:
    base = {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "nginx",
                                                  "imagePullPolicy": "Always",
                                                  "terminationMessagePolicy": "File"}],
                                  "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}}}
    return obj(apps_v1.Deployment, spec={**base, **spec})


@pytest.mark.parametrize(("spec", "expected"), [
    ({}, []),
    ({"replicas": -1}, ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
    ({"selector": {"matchLabels": {"app": "other"}}},
     ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: '
      "`selector` does not match template `labels`"]),
    ({"selector": {}},
     ["spec.selector: Invalid value: {}: empty selector is invalid for deployment"]),
    ({"strategy": {"type": "BlueGreen"}},
     ['spec.strategy: Unsupported value: "BlueGreen": supported values: "Recreate", '
      '"RollingUpdate"']),
    ({"strategy": {"type": "RollingUpdate",
                   "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}},
     ["spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when "
      "`maxSurge` is 0"]),
    ({"strategy": {"type": "RollingUpdate",
                   "rollingUpdate": {"maxUnavailable": "120%", "maxSurge": "1"}}},
     ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "120%": must not be greater '
      "than 100%",
      'spec.strategy.rollingUpdate.maxSurge: Invalid value: "1": a valid percent string must be '
      "a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for "
      "validation is '[0-9]+%')"]),
])
def test_deployment(spec: dict[str, Any], expected: list[str]) -> None:
    assert msgs(apps.validate_deployment(deployment(**spec))) == expected


def test_deployment_selector_is_immutable() -> None:
    old = deployment()
    new = deployment(selector={"matchLabels": {"app": "web", "tier": "x"}},
                     template={**msgspec.to_builtins(old.spec.template),  # type: ignore[union-attr]
                               "metadata": {"labels": {"app": "web", "tier": "x"}}})
    assert msgs(apps.validate_deployment_update(new, old))[-1].endswith("field is immutable")


def test_replica_set_template_restart_policy() -> None:
    rs = obj(apps_v1.ReplicaSet, spec={
        "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}},
                     "spec": {"containers": [{"name": "c", "image": "nginx",
                                              "imagePullPolicy": "Always",
                                              "terminationMessagePolicy": "File"}],
                              "restartPolicy": "Never", "dnsPolicy": "ClusterFirst"}}})
    assert msgs(apps.validate_replica_set(rs)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: '
        '"Always"']


def test_pdb_both_set() -> None:
    pdb = obj(policy_v1.PodDisruptionBudget, spec={"minAvailable": 1, "maxUnavailable": 1})
    assert msgs(other.validate_pod_disruption_budget(pdb))[0].endswith(
        "minAvailable and maxUnavailable cannot be both set")


def test_lease_duration_positive() -> None:
    lease = obj(coordination_v1.Lease, spec={"leaseDurationSeconds": 0})
    assert msgs(other.validate_lease(lease)) == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]


def test_binding_targets_a_node() -> None:
    b = msgspec.convert({"target": {"kind": "Pod", "name": ""}}, core_v1.Binding)
    assert msgs(other.validate_binding(b)) == [
        'target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"',
        "target.name: Required value"]


def test_resource_quota_scopes_and_quantities() -> None:
    q = obj(core_v1.ResourceQuota, spec={"hard": {"pods": "1.5"}, "scopes": ["Sometimes"]})
    assert msgs(core.validate_resource_quota(q)) == [
        'spec.hard[pods]: Invalid value: "1500m": must be an integer',
        'spec.scopes: Unsupported value: "Sometimes": supported values: "BestEffort", '
        '"CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass", '
        '"Terminating"']


def test_limit_range_order() -> None:
    lr = obj(core_v1.LimitRange, spec={"limits": [
        {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}]})
    assert msgs(core.validate_limit_range(lr)) == [
        'spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1']
