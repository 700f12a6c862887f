"""configMap, secret, downwardAPI and projected payloads, with Kubernetes' error texts."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubelite.kubelet.volumes.projections import (
    VolumeSetupError,
    configmap_payload,
    downward_payload,
    projected_payload,
    secret_payload,
)

OBJECTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("configmaps", "default", "app"): {"data": {"a.conf": "A", "b.conf": "B"},
                                       "binaryData": {"bin": base64.b64encode(b"\x00\x01").decode()}},
    ("secrets", "default", "creds"): {"data": {"user": base64.b64encode(b"admin").decode()}},
}


async def lookup(kind: str, ns: str, name: str) -> dict[str, Any] | None:
    return OBJECTS.get((kind, ns, name))


async def token(pod: dict[str, Any], source: dict[str, Any]) -> str:
    return "tok-" + source.get("audience", "")


POD = {"metadata": {"name": "p", "namespace": "default", "uid": "u1", "labels": {"app": "x"}},
       "spec": {"nodeName": "n1", "containers": [
           {"name": "c", "resources": {"limits": {"memory": "64Mi"}}}]}}


async def test_configmap_all_keys_default_mode_0644() -> None:
    payload = await configmap_payload({"name": "app"}, "default", lookup)
    assert set(payload) == {"a.conf", "b.conf", "bin"}
    assert payload["a.conf"].mode == 0o644 and payload["bin"].data == b"\x00\x01"


async def test_configmap_items_with_per_item_mode_and_default_mode() -> None:
    payload = await configmap_payload(
        {"name": "app", "defaultMode": 0o600,
         "items": [{"key": "a.conf", "path": "conf/a"}, {"key": "b.conf", "path": "b", "mode": 0o400}]},
        "default", lookup)
    assert set(payload) == {"conf/a", "b"}
    assert payload["conf/a"].mode == 0o600 and payload["b"].mode == 0o400


async def test_missing_configmap_and_key_messages() -> None:
    with pytest.raises(VolumeSetupError, match='configmap "nope" not found'):
        await configmap_payload({"name": "nope"}, "default", lookup)
    assert await configmap_payload({"name": "nope", "optional": True}, "default", lookup) == {}
    with pytest.raises(VolumeSetupError, match="non-existent config key: zz"):
        await configmap_payload({"name": "app", "items": [{"key": "zz", "path": "z"}]},
                                "default", lookup)


async def test_secret_decoded_and_missing() -> None:
    payload = await secret_payload({"secretName": "creds"}, "default", lookup)
    assert payload["user"].data == b"admin"
    with pytest.raises(VolumeSetupError, match='secret "x" not found'):
        await secret_payload({"secretName": "x"}, "default", lookup)


def test_downward_api_fields_and_resources() -> None:
    payload = downward_payload(POD, {"items": [
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory",
                                             "divisor": "1Mi"}}]}, {})
    assert payload["name"].data == b"p"
    assert payload["labels"].data == b'app="x"'
    assert payload["mem"].data == b"64"


async def test_projected_combines_sources_in_one_directory() -> None:
    payload = await projected_payload(POD, {"defaultMode": 0o640, "sources": [
        {"configMap": {"name": "app", "items": [{"key": "a.conf", "path": "a"}]}},
        {"secret": {"name": "creds"}},
        {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
        {"serviceAccountToken": {"path": "token", "audience": "api"}}]}, lookup, token, {})
    assert {k: v.data for k, v in payload.items()} == {
        "a": b"A", "user": b"admin", "ns": b"default", "token": b"tok-api"}
    assert all(v.mode == 0o640 for v in payload.values())


def test_labels_and_annotations_files_quote_values_as_go_does() -> None:
    from kubelite.kubelet.volumes.projections import downward_payload, go_quote

    pod = {"metadata": {"name": "p", "labels": {"b": "2", "a": "1"},
                        "annotations": {"json": '{"x": "y\\z"}', "multi": "l1\nl2"}}}
    source = {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}}]}
    out = downward_payload(pod, source, {})
    assert out["labels"].data == b'a="1"\nb="2"'
    assert out["annotations"].data == b'json="{\\"x\\": \\"y\\\\z\\"}"\nmulti="l1\\nl2"'
    assert go_quote("\x1b\u00e9\u00a0") == '"\\x1b\u00e9\\u00a0"'
