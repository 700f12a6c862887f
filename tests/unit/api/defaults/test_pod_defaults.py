"""Pod defaulting and pod admission defaults, compared with what Kubernetes stores."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from kubelite.api.defaults import admit_pod, default_pod, pod_qos_class
from kubelite.api.defaults.pod import image_tag
from kubelite.api.types import core_v1


def pod(spec: dict[str, Any]) -> core_v1.Pod:
    return msgspec.convert({"metadata": {"name": "p"}, "spec": spec}, core_v1.Pod)


def defaulted(spec: dict[str, Any]) -> dict[str, Any]:
    p = pod(spec)
    default_pod(p)
    out: dict[str, Any] = msgspec.to_builtins(p)["spec"]
    return out


def test_pod_spec_defaults() -> None:
    spec = defaulted({"containers": [{"name": "c", "image": "nginx:1.27"}]})
    assert spec == {
        "containers": [{"name": "c", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File"}],
        "dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "restartPolicy": "Always",
        "schedulerName": "default-scheduler", "securityContext": {},
        "terminationGracePeriodSeconds": 30,
    }


@pytest.mark.parametrize(("image", "tag"), [
    ("nginx", "latest"), ("nginx:latest", "latest"), ("nginx:1.2", "1.2"),
    ("localhost:5000/app", "latest"), ("localhost:5000/app:v1", "v1"),
    ("busybox@sha256:" + "a" * 64, ""),
])
def test_image_tag(image: str, tag: str) -> None:
    assert image_tag(image) == tag


def test_pull_policy_always_for_latest() -> None:
    spec = defaulted({"containers": [{"name": "c", "image": "localhost:5000/app"}]})
    assert spec["containers"][0]["imagePullPolicy"] == "Always"


def test_probe_port_env_and_volume_defaults() -> None:
    spec = defaulted({
        "containers": [{"name": "c", "image": "x:1", "ports": [{"containerPort": 80}],
                        "readinessProbe": {"httpGet": {"port": 80}},
                        "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
        "volumes": [{"name": "a"}, {"name": "b", "configMap": {"name": "cm"}},
                    {"name": "c", "secret": {"secretName": "s"}},
                    {"name": "d", "hostPath": {"path": "/x"}}]})
    ctr = spec["containers"][0]
    assert ctr["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert ctr["readinessProbe"] == {"httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
                                     "timeoutSeconds": 1, "periodSeconds": 10,
                                     "successThreshold": 1, "failureThreshold": 3}
    assert ctr["env"][0]["valueFrom"]["fieldRef"] == {"apiVersion": "v1",
                                                      "fieldPath": "metadata.name"}
    assert spec["volumes"] == [
        {"name": "a", "emptyDir": {}},
        {"name": "b", "configMap": {"name": "cm", "defaultMode": 420}},
        {"name": "c", "secret": {"secretName": "s", "defaultMode": 420}},
        {"name": "d", "hostPath": {"path": "/x", "type": ""}},
    ]


def test_requests_copied_from_limits_and_canonicalised() -> None:
    spec = defaulted({"containers": [{"name": "c", "image": "x:1", "resources": {
        "limits": {"cpu": "0.5", "memory": "1024Mi"}, "requests": {"cpu": "100m"}}}]})
    assert spec["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "1Gi"},
        "requests": {"cpu": "100m", "memory": "1Gi"}}


def test_resource_lists_round_up_to_milli() -> None:
    spec = defaulted({"containers": [{"name": "c", "image": "x:1", "resources": {
        "requests": {"cpu": "0.0001"}}}]})
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "1m"}


def test_host_network_defaults_host_ports() -> None:
    spec = defaulted({"hostNetwork": True, "containers": [
        {"name": "c", "image": "x:1", "ports": [{"containerPort": 8080}]}]})
    assert spec["containers"][0]["ports"][0]["hostPort"] == 8080


def test_admission_adds_service_account_and_tolerations() -> None:
    p = pod({"containers": [{"name": "c", "image": "x"}]})
    admit_pod(p)
    spec = msgspec.to_builtins(p)["spec"]
    assert spec["serviceAccountName"] == spec["serviceAccount"] == "default"
    assert "priority" not in spec  # the Priority admission plugin's (apiserver) to set
    assert spec["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}]


def test_admission_respects_existing_tolerations() -> None:
    p = pod({"containers": [{"name": "c", "image": "x"}],
             "tolerations": [{"operator": "Exists"}]})
    admit_pod(p)
    assert p.spec is not None and p.spec.tolerations is not None
    assert len(p.spec.tolerations) == 1


@pytest.mark.parametrize(("resources", "qos"), [
    ([{}], "BestEffort"),
    ([{"requests": {"cpu": "100m"}}], "Burstable"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}],
     "Guaranteed"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}}],
     "Burstable"),
    ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}, {}],
     "Burstable"),
    ([{"requests": {"example.com/gpu": "1"}}], "BestEffort"),
])
def test_qos_class(resources: list[dict[str, Any]], qos: str) -> None:
    containers = [{"name": f"c{i}", "image": "x", "resources": r} for i, r in enumerate(resources)]
    assert pod_qos_class(pod({"containers": containers})) == qos


def test_limits_only_pod_is_guaranteed_after_defaulting() -> None:
    p = pod({"containers": [{"name": "c", "image": "x",
                             "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]})
    default_pod(p)
    assert pod_qos_class(p) == "Guaranteed"
