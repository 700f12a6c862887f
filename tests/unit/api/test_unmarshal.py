"""A body value of the wrong JSON type is named as Go's encoding/json names it."""

from __future__ import annotations

import pytest

from kubelite.api.unmarshal import first_type_error, go_type, json_type

POD = "io.k8s.api.core.v1.Pod"


@pytest.mark.parametrize(
    ("definition", "body", "message"),
    [
        ("io.k8s.api.core.v1.Binding", {"target": "node-1"},
         "json: cannot unmarshal string into Go struct field Binding.target of type v1.ObjectReference"),
        ("io.k8s.api.policy.v1.Eviction", {"deleteOptions": 5},
         "json: cannot unmarshal number into Go struct field Eviction.deleteOptions of type v1.DeleteOptions"),
        (POD, {"spec": {"containers": [{"name": 5}]}},
         "json: cannot unmarshal number into Go struct field Container.spec.containers.name of type string"),
        (POD, {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 1.5}]}]}},
         "json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32"),
        (POD, {"metadata": {"labels": {"a": "b", "c": True}}},
         "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"),
        (POD, {"spec": {"containers": "c"}},
         "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container"),
        ("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", {"gracePeriodSeconds": "30"},
         "json: cannot unmarshal string into Go struct field DeleteOptions.gracePeriodSeconds of type int64"),
    ],
)
def test_the_first_wrong_type_is_named_with_struct_path_and_go_type(definition: str, body: dict, message: str) -> None:
    assert first_type_error(definition, body) == message


@pytest.mark.parametrize(
    "body",
    [
        {},  # a missing field is for validation, not decoding
        {"spec": None, "metadata": {"labels": None}},  # null leaves the zero value
        {"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}}]}},
        {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "targetPort": "x"}]}]}},  # unknown field
        {"spec": {"containers": [{"name": "c", "livenessProbe": {"httpGet": {"port": "http"}}}]}},  # int-or-string
    ],
)
def test_values_of_the_right_type_are_no_error(body: dict) -> None:
    assert first_type_error(POD, body) is None


def test_go_type_and_json_type_names() -> None:
    assert go_type({"type": ["array", "null"], "items": {"type": "string"}}) == "[]string"
    assert go_type({"type": "object", "additionalProperties": {"type": "string"}}) == "map[string]string"
    assert go_type({"type": "integer", "format": "int32"}) == "int32"
    assert go_type({"$ref": "#/$defs/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}) == "intstr.IntOrString"
    values: list[object] = ["a", 1, 1.5, True, [], {}, None]
    assert [json_type(v) for v in values] == [
        "string", "number", "number", "bool", "array", "object", "null"]
