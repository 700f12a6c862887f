"""Kubernetes protobuf request bodies: decoding, encoding and malformed input."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubelite.api.protobuf import MAGIC, decode_k8s_protobuf, encode_k8s_protobuf, wire

# `kubectl.1.33 create configmap cm1 --from-literal a=b`, captured from a stub server.
KUBECTL_1_33_CREATE_CONFIGMAP = bytes.fromhex(
    "6b3873000a0f0a027631120943 6f6e6669674d6170121d0a130a03636d31"
    "12001a0022002a00320038004200120 60a016112016 21a002200".replace(" ", "")
)


def test_decodes_the_body_kubectl_1_33_sends_for_create_configmap() -> None:
    assert decode_k8s_protobuf(KUBECTL_1_33_CREATE_CONFIGMAP) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1"}, "data": {"a": "b"},
    }


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"},
                 "creationTimestamp": "2024-05-01T10:00:00Z",
                 "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u1", "controller": False}]},
    "spec": {
        "replicas": 0,
        "selector": {"matchLabels": {"app": "web"},
                     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{
                    "name": "app", "image": "nginx", "command": ["sh", "-c", "sleep 1"],
                    "ports": [{"containerPort": 80, "name": "http"}],
                    "env": [{"name": "K", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}}],
                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
                    "livenessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 5},
                    "securityContext": {"runAsUser": 0, "privileged": False},
                }],
                "volumes": [{"name": "tmp", "emptyDir": {}},
                            {"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}}],
                "tolerations": [{"key": "k", "operator": "Exists", "tolerationSeconds": -1}],
                "automountServiceAccountToken": False,
            },
        },
    },
}


@pytest.mark.parametrize("obj", [
    DEPLOYMENT,
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
     "data": {"k": base64.b64encode(b"\x00\xffbinary").decode()}, "immutable": False},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"a": "b"}},
     "data": {"x": "y"}, "binaryData": {"b": base64.b64encode(b"\x01\x02").decode()}},
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns", "finalizers": ["f"]},
     "spec": {"finalizers": ["kubernetes"]}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
     "spec": {"type": "NodePort", "selector": {"app": "web"},
              "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP", "nodePort": 30080}]}},
    {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "metadata": {},
     "spec": {"resourceAttributes": {"namespace": "default", "verb": "get", "resource": "pods"}}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
     "spec": {"containers": [{"name": "c", "image": "busybox"}], "nodeName": "n1"},
     "status": {"phase": "Running", "startTime": "2024-01-02T03:04:05Z",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-02T03:04:06Z"}]}},
], ids=lambda o: o["kind"])
def test_round_trip(obj: dict) -> None:
    assert decode_k8s_protobuf(encode_k8s_protobuf(obj)) == obj


def test_body_starts_with_the_magic_and_a_runtime_unknown() -> None:
    body = encode_k8s_protobuf({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})
    assert body.startswith(MAGIC)
    fields = list(wire.iter_fields(body[4:]))
    assert fields[0][0] == 1 and fields[1][0] == 2
    type_meta = fields[0][2]
    assert isinstance(type_meta, bytes) and b"Namespace" in type_meta


def test_zero_scalars_that_go_always_writes_are_dropped_but_pointer_zeros_kept() -> None:
    """Go writes `generation: 0` and `hostPort: 0`; its JSON (omitempty) would not."""
    port = wire.len_field(1, b"") + wire.varint_field(2, 0) + wire.varint_field(3, 80)  # hostPort 0
    container = wire.len_field(1, b"c") + wire.len_field(6, port) + wire.varint_field(16, 0)  # stdin false
    pod_spec = wire.len_field(2, container) + wire.varint_field(11, 0)  # hostNetwork false
    pod_spec += wire.varint_field(4, 0)  # terminationGracePeriodSeconds: 0 (a pointer)
    meta = wire.len_field(1, b"p") + wire.len_field(2, b"") + wire.varint_field(7, 0) + wire.len_field(8, b"")
    raw = wire.len_field(1, meta) + wire.len_field(2, pod_spec)
    body = MAGIC + wire.len_field(1, wire.len_field(1, b"v1") + wire.len_field(2, b"Pod")) + wire.len_field(2, raw)
    assert decode_k8s_protobuf(body) == {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}],
                 "terminationGracePeriodSeconds": 0},
    }


def test_unknown_field_numbers_are_skipped() -> None:
    body = encode_k8s_protobuf({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    fields = list(wire.iter_fields(body[4:]))
    raw = fields[1][2]
    assert isinstance(raw, bytes)
    raw += wire.len_field(99, b"future") + wire.varint_field(98, 7)
    tampered = MAGIC + wire.len_field(1, fields[0][2]) + wire.len_field(2, raw)  # type: ignore[arg-type]
    assert decode_k8s_protobuf(tampered) == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}


@pytest.mark.parametrize("body", [
    b"",
    b"k8s",
    b"{\"kind\": \"Pod\"}",
    KUBECTL_1_33_CREATE_CONFIGMAP[:-9],  # truncated inside the object
    MAGIC + wire.len_field(1, wire.len_field(1, b"v1") + wire.len_field(2, b"Nope")),
    MAGIC + wire.len_field(1, wire.len_field(1, b"v1") + wire.len_field(2, b"ConfigMap"))
    + wire.len_field(2, wire.varint_field(1, 5)),  # metadata as a varint
    MAGIC + b"\x0f",  # wire type 7
    MAGIC + wire.len_field(1, wire.len_field(1, b"v1") + wire.len_field(2, b"ConfigMap"))
    + wire.len_field(2, b"") + wire.len_field(3, b"gzip"),
], ids=["empty", "short", "json", "truncated", "unknown-kind", "wrong-wire-type", "bad-wire-type", "gzip"])
def test_malformed_bodies_raise_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        decode_k8s_protobuf(body)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise_anything_but_value_error(noise: bytes) -> None:
    prefix = encode_k8s_protobuf(DEPLOYMENT)[:40]
    for body in (MAGIC + noise, prefix + noise):
        try:
            decode_k8s_protobuf(body)
        except ValueError:
            pass


def test_varints_round_trip_including_negative_numbers() -> None:
    for value in (0, 1, 127, 128, 300, 2**31 - 1, 2**63 - 1, -1, -(2**31)):
        encoded = wire.varint(value)
        decoded, end = wire.read_varint(encoded, 0)
        assert end == len(encoded) and wire.signed(decoded) == value
