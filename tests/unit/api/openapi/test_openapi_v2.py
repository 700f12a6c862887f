"""OpenAPI v2 (swagger 2.0) as JSON and as gnostic protobuf for kubectl 1.27/1.28."""

from __future__ import annotations

import json
from typing import Any

from kubelite.api.openapi import openapi_v2, openapi_v2_json, openapi_v2_protobuf
from kubelite.api.protobuf.wire import iter_fields

POD_ITEM = "/api/v1/namespaces/{namespace}/pods/{name}"


def _fields(data: bytes) -> list[tuple[int, Any]]:
    return [(n, v) for n, _, v in iter_fields(data)]


def _first(data: bytes, number: int) -> bytes:
    value = next(v for n, v in _fields(data) if n == number)
    assert isinstance(value, bytes)
    return value


def _all(data: bytes, number: int) -> list[bytes]:
    return [v for n, v in _fields(data) if n == number and isinstance(v, bytes)]


def test_v2_is_swagger_with_definitions_and_resolvable_refs() -> None:
    doc = openapi_v2()
    assert doc["swagger"] == "2.0"
    text = openapi_v2_json().decode()
    for ref in {part.split('"')[0] for part in text.split('"$ref":"')[1:]}:
        assert ref.startswith("#/definitions/") and ref[len("#/definitions/"):] in doc["definitions"], ref
    pod = doc["definitions"]["io.k8s.api.core.v1.Pod"]
    assert pod["properties"]["spec"] == {"$ref": "#/definitions/io.k8s.api.core.v1.PodSpec",
                                         "description": pod["properties"]["spec"]["description"]}


def test_v2_patch_operation_has_query_parameters_and_a_body() -> None:
    op = openapi_v2()["paths"][POD_ITEM]["patch"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["fieldValidation"] == {**params["fieldValidation"], "in": "query", "type": "string"}
    assert params["body"]["in"] == "body"
    assert params["body"]["schema"] == {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}
    assert "application/strategic-merge-patch+json" in op["consumes"]
    assert op["x-kubernetes-group-version-kind"] == {"group": "", "kind": "Pod", "version": "v1"}
    assert op["responses"]["200"]["schema"] == {"$ref": "#/definitions/io.k8s.api.core.v1.Pod"}


def test_protobuf_document_carries_patch_gvk_and_field_validation() -> None:
    """The fields kubectl 1.27/1.28 read (kubectl-api.md section 4.3)."""
    doc = openapi_v2_protobuf()
    assert _first(doc, 1) == b"2.0"
    assert _first(_first(doc, 2), 1) == b"Kubernetes"
    paths = {_first(p, 1).decode(): _first(p, 2) for p in _all(_first(doc, 8), 2)}
    patch = _first(paths[POD_ITEM], 8)
    extensions = {_first(e, 1).decode(): _first(_first(e, 2), 2) for e in _all(patch, 13)}
    assert json.loads(extensions["x-kubernetes-group-version-kind"]) == {"group": "", "kind": "Pod", "version": "v1"}
    query_names = []
    for item in _all(patch, 8):
        parameter = _first(item, 1)
        for n, value in _fields(parameter):
            if n == 2 and isinstance(value, bytes):
                query = _all(value, 3)
                if query:
                    assert _first(query[0], 2) == b"query"
                    query_names.append(_first(query[0], 4).decode())
    assert "fieldValidation" in query_names


def test_protobuf_definitions_hold_the_schemas_explain_needs() -> None:
    doc = openapi_v2_protobuf()
    defs = {_first(d, 1).decode(): _first(d, 2) for d in _all(_first(doc, 9), 1)}
    probe = defs["io.k8s.api.core.v1.Probe"]
    assert _first(_first(probe, 22), 1) == b"object"
    props = {_first(p, 1).decode(): _first(p, 2) for p in _all(_first(probe, 25), 1)}
    assert _first(_first(props["periodSeconds"], 22), 1) == b"integer"
    assert _first(props["httpGet"], 1) == b"#/definitions/io.k8s.api.core.v1.HTTPGetAction"
    pod = defs["io.k8s.api.core.v1.Pod"]
    gvk = [e for e in _all(pod, 31) if _first(e, 1) == b"x-kubernetes-group-version-kind"]
    assert json.loads(_first(_first(gvk[0], 2), 2)) == [{"group": "", "kind": "Pod", "version": "v1"}]


def test_protobuf_is_computed_once() -> None:
    assert openapi_v2_protobuf() is openapi_v2_protobuf()
