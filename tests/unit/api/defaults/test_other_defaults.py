"""Defaulting of Services, Deployments, volumes and the other kinds."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.defaults import apply_defaults
from kubelite.api.types import apps_v1, core_v1, discovery_v1, storage_v1


def defaulted(t: type[msgspec.Struct], **fields: Any) -> dict[str, Any]:
    obj = msgspec.convert({"metadata": {"name": "x"}, **fields}, t)
    apply_defaults(obj)
    out: dict[str, Any] = msgspec.to_builtins(obj)
    return out


def test_service() -> None:
    out = defaulted(core_v1.Service, spec={"ports": [{"port": 80}], "selector": {"a": "b"}})
    assert out["spec"] == {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                           "selector": {"a": "b"}, "sessionAffinity": "None",
                           "type": "ClusterIP", "internalTrafficPolicy": "Cluster"}


def test_service_node_port_and_client_ip() -> None:
    out = defaulted(core_v1.Service, spec={"type": "NodePort", "sessionAffinity": "ClientIP",
                                           "ports": [{"port": 80, "targetPort": "http"}]})
    assert out["spec"]["externalTrafficPolicy"] == "Cluster"
    assert out["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    assert out["spec"]["ports"][0]["targetPort"] == "http"


def test_deployment() -> None:
    out = defaulted(apps_v1.Deployment, spec={
        "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}},
                     "spec": {"containers": [{"name": "c", "image": "x",
                                              "resources": {"limits": {"cpu": "1"}}}]}}})
    spec = out["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    template = spec["template"]["spec"]
    assert template["restartPolicy"] == "Always"
    assert template["containers"][0]["imagePullPolicy"] == "Always"
    # Requests are copied from limits only for pods, never in templates; no admission either.
    assert "requests" not in template["containers"][0]["resources"]
    assert "enableServiceLinks" not in template and "tolerations" not in template


def test_recreate_deployment_gets_no_rolling_update() -> None:
    out = defaulted(apps_v1.Deployment, spec={"selector": {}, "strategy": {"type": "Recreate"},
                                              "template": {}})
    assert out["spec"]["strategy"] == {"type": "Recreate"}


def test_replica_set() -> None:
    assert defaulted(apps_v1.ReplicaSet, spec={"selector": {}})["spec"]["replicas"] == 1


def test_namespace() -> None:
    out = defaulted(core_v1.Namespace)
    assert out["status"] == {"phase": "Active"}
    assert out["metadata"]["labels"] == {"kubernetes.io/metadata.name": "x"}


def test_secret_type() -> None:
    assert defaulted(core_v1.Secret)["type"] == "Opaque"


def test_persistent_volume_and_claim() -> None:
    pv = defaulted(core_v1.PersistentVolume, spec={"capacity": {"storage": "1024Mi"}})
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["spec"]["capacity"] == {"storage": "1Gi"}
    assert pv["status"] == {"phase": "Pending"}
    pvc = defaulted(core_v1.PersistentVolumeClaim,
                    spec={"resources": {"requests": {"storage": "0.5Gi"}}})
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    assert pvc["spec"]["resources"]["requests"] == {"storage": "512Mi"}
    assert pvc["status"] == {"phase": "Pending"}


def test_node_allocatable_from_capacity() -> None:
    out = defaulted(core_v1.Node, status={"capacity": {"cpu": "4", "memory": "8192Mi"}})
    assert out["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi"}


def test_limit_range_container_defaults() -> None:
    out = defaulted(core_v1.LimitRange, spec={"limits": [
        {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]})
    item = out["spec"]["limits"][0]
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "64Mi"}


def test_endpoint_slice_and_storage_class() -> None:
    es = defaulted(discovery_v1.EndpointSlice, addressType="IPv4", endpoints=[],
                   ports=[{"port": 80}])
    assert es["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]
    sc = defaulted(storage_v1.StorageClass, provisioner="p")
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")
