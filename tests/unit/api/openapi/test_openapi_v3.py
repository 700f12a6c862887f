"""OpenAPI v3 index and group-version documents."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from kubelite.api import registry
from kubelite.api.openapi import openapi_v3_document, openapi_v3_index

SCHEMAS = "#/components/schemas/"


def _doc(path: str) -> dict[str, Any]:
    body = openapi_v3_document(path)
    assert body is not None
    return json.loads(body)


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _key(kind: registry.Kind) -> str:
    return f"apis/{kind.group}/{kind.version}" if kind.group else f"api/{kind.version}"


def test_index_links_every_group_version_with_its_content_hash() -> None:
    index = openapi_v3_index()["paths"]
    assert {_key(k) for k in registry.KINDS} == set(index)
    url = index["apis/apps/v1"]["serverRelativeURL"]
    path, _, digest = url.partition("?hash=")
    assert path == "/openapi/v3/apis/apps/v1"
    assert digest == hashlib.sha512(openapi_v3_document("apis/apps/v1") or b"").hexdigest().upper()


def test_unknown_document_is_none() -> None:
    assert openapi_v3_document("apis/apps/v1beta1") is None


def test_documents_are_computed_once() -> None:
    assert openapi_v3_document("api/v1") is openapi_v3_document("/api/v1")


@pytest.mark.parametrize("kind", [k for k in registry.KINDS if "patch" in k.verbs], ids=lambda k: k.kind)
def test_every_patch_operation_declares_field_validation_and_its_gvk(kind: registry.Kind) -> None:
    """kubectl apply uses server-side validation only if the kind's PATCH has fieldValidation."""
    doc = _doc(_key(kind))
    patches = [item["patch"] for item in doc["paths"].values() if "patch" in item
               and item["patch"]["x-kubernetes-group-version-kind"]["kind"] == kind.kind]
    assert patches
    for op in patches:
        assert op["x-kubernetes-action"] == "patch"
        assert op["x-kubernetes-group-version-kind"] == {"group": kind.group, "kind": kind.kind,
                                                         "version": kind.version}
        names = {p["name"] for p in op["parameters"]}
        assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= names
        assert set(op["requestBody"]["content"]) == {
            "application/json-patch+json", "application/merge-patch+json",
            "application/strategic-merge-patch+json", "application/apply-patch+yaml"}


def test_pod_paths_cover_crud_watch_and_subresources() -> None:
    paths = _doc("api/v1")["paths"]
    item = paths["/api/v1/namespaces/{namespace}/pods/{name}"]
    assert {"get", "put", "patch", "delete"} <= item.keys()
    collection = paths["/api/v1/namespaces/{namespace}/pods"]
    assert collection["get"]["x-kubernetes-action"] == "list"
    assert collection["post"]["operationId"] == "createCoreV1NamespacedPod"
    assert collection["delete"]["x-kubernetes-action"] == "deletecollection"
    assert paths["/api/v1/pods"]["get"]["operationId"] == "listCoreV1PodForAllNamespaces"
    assert paths["/api/v1/watch/namespaces/{namespace}/pods/{name}"]["get"]["x-kubernetes-action"] == "watch"
    assert "container" in {p["name"] for p in paths["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"]["parameters"]}
    exec_op = paths["/api/v1/namespaces/{namespace}/pods/{name}/exec"]["post"]
    assert exec_op["x-kubernetes-action"] == "connect"
    assert paths["/api/v1/namespaces/{name}"]["patch"]["operationId"] == "patchCoreV1Namespace"


def test_scale_subresource_speaks_autoscaling_v1_scale() -> None:
    doc = _doc("apis/apps/v1")
    op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert op["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "kind": "Scale", "version": "v1"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": SCHEMAS + "io.k8s.api.autoscaling.v1.Scale"}
    assert "io.k8s.api.autoscaling.v1.Scale" in doc["components"]["schemas"]


@pytest.mark.parametrize("path", sorted(openapi_v3_index()["paths"]))
def test_every_ref_resolves_and_no_json_schema_nulls_remain(path: str) -> None:
    doc = _doc(path)
    schemas = doc["components"]["schemas"]
    for node in _walk(doc):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith(SCHEMAS) and ref[len(SCHEMAS):] in schemas, ref
        assert not isinstance(node.get("type"), list), node
        assert node.get("type") != "null", node


def test_pod_schema_keeps_descriptions_extensions_and_gvk() -> None:
    schemas = _doc("api/v1")["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["kind"] == {"description": pod["properties"]["kind"]["description"], "type": "string"}
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert containers["items"] == {"$ref": SCHEMAS + "io.k8s.api.core.v1.Container"}
    probe = schemas["io.k8s.api.core.v1.Container"]["properties"]["livenessProbe"]
    assert probe["allOf"] == [{"$ref": SCHEMAS + "io.k8s.api.core.v1.Probe"}]
    assert probe["description"].startswith("Periodic probe of container liveness.")
    period = schemas["io.k8s.api.core.v1.Probe"]["properties"]["periodSeconds"]
    assert period == {"description": period["description"], "format": "int32", "type": "integer"}
    int_or_string = schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string["format"] == "int-or-string" and "type" not in int_or_string
    assert schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]["oneOf"] == [{"type": "string"}, {"type": "number"}]
    assert schemas["io.k8s.api.core.v1.PodList"]["x-kubernetes-group-version-kind"][0]["kind"] == "PodList"


def test_meta_types_are_published() -> None:
    schemas = _doc("api/v1")["components"]["schemas"]
    for name in ("Status", "DeleteOptions", "WatchEvent", "Patch", "ObjectMeta"):
        assert "io.k8s.apimachinery.pkg.apis.meta.v1." + name in schemas
    event = schemas["io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"]
    assert {"group": "", "kind": "WatchEvent", "version": "v1"} in event["x-kubernetes-group-version-kind"]
