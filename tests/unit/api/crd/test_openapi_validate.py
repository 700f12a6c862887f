"""OpenAPI value validation of custom resources: kube-openapi's messages as field errors."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api.crd.openapi_validate import validate_value


def spec(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": {"type": "object", "properties": props}}}


def messages(schema: dict[str, Any], obj: Any, old: Any = None) -> list[str]:
    if old is None:
        return [e.message() for e in validate_value(schema, obj)]
    return [e.message() for e in validate_value(schema, obj, old=old)]


# (property schema, value, expected messages) — wording from kube-openapi's errors/schema.go
# through apiextensions' kubeOpenAPIResultToFieldErrors; the first two are the CronTab example
# of the Kubernetes documentation.
CASES = [
    ({"type": "integer", "maximum": 10}, 15,
     ["spec.x: Invalid value: 15: spec.x in body should be less than or equal to 10"]),
    ({"type": "string", "pattern": r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"}, "* * * *",
     [r"spec.x: Invalid value: \"* * * *\": spec.x in body should match "
      r"'^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'".replace('\\"', '"')]),
    ({"type": "integer", "minimum": 1}, 0,
     ["spec.x: Invalid value: 0: spec.x in body should be greater than or equal to 1"]),
    ({"type": "integer", "minimum": 1, "exclusiveMinimum": True}, 1,
     ["spec.x: Invalid value: 1: spec.x in body should be greater than 1"]),
    ({"type": "number", "maximum": 1.5, "exclusiveMaximum": True}, 1.5,
     ["spec.x: Invalid value: 1.5: spec.x in body should be less than 1.5"]),
    ({"type": "integer", "multipleOf": 5}, 7,
     ["spec.x: Invalid value: 7: spec.x in body should be a multiple of 5"]),
    ({"type": "integer"}, "3",
     ['spec.x: Invalid value: "string": spec.x in body must be of type integer: "string"']),
    ({"type": "string"}, None,
     ['spec.x: Invalid value: "null": spec.x in body must be of type string: "null"']),
    ({"type": "string", "nullable": True}, None, []),
    ({"type": "integer"}, 3.0, []),  # a float that is an integer passes, as in Go
    ({"type": "number"}, 3, []),
    ({"type": "boolean"}, 1,
     ['spec.x: Invalid value: "integer": spec.x in body must be of type boolean: "integer"']),
    ({"type": "object"}, [],
     ['spec.x: Invalid value: "array": spec.x in body must be of type object: "array"']),
    ({"x-kubernetes-int-or-string": True}, "80%", []),
    ({"x-kubernetes-int-or-string": True}, 80, []),
    ({"x-kubernetes-int-or-string": True}, True,
     ['spec.x: Invalid value: "boolean": spec.x in body must be of type integer,string: "boolean"']),
    ({"type": "string", "maxLength": 3}, "abcd", ["spec.x: Too long: may not be more than 3 bytes"]),
    ({"type": "string", "maxLength": 3}, "äöü", []),  # runes, not bytes
    ({"type": "string", "minLength": 2}, "a",
     ['spec.x: Invalid value: "a": spec.x in body should be at least 2 chars long']),
    ({"type": "string", "enum": ["a", "b"]}, "c",
     ['spec.x: Unsupported value: "c": supported values: "a", "b"']),
    ({"type": "integer", "enum": [1, 2]}, 3, ['spec.x: Unsupported value: 3: supported values: "1", "2"']),
    ({"type": "string", "format": "uuid"}, "nope",
     ['spec.x: Invalid value: "nope": spec.x in body must be of type uuid: "nope"']),
    ({"type": "string", "format": "date-time"}, "2024-01-02T03:04:05Z", []),
    ({"type": "string", "format": "ipv4"}, "10.0.0.300",
     ['spec.x: Invalid value: "10.0.0.300": spec.x in body must be of type ipv4: "10.0.0.300"']),
    ({"type": "string", "format": "something-unknown"}, "x", []),
    ({"type": "string", "format": "k8s-short-name"}, "Web",
     ['spec.x: Invalid value: "Web": spec.x in body must be of type k8s-short-name: "Web"']),
    ({"type": "string", "format": "k8s-long-name"}, "a.b-c", []),
    ({"type": "integer", "format": "int32"}, 2**31,
     ["spec.x: Invalid value: 2147483648: Checked value must be of type integer with format int32 in spec.x"]),
    ({"type": "array", "items": {"type": "string"}, "maxItems": 1}, ["a", "b"],
     ["spec.x: Too many: 2: must have at most 1 items"]),
    ({"type": "array", "items": {"type": "string"}, "minItems": 2}, ["a"],
     ["spec.x: Invalid value: 1: spec.x in body should have at least 2 items"]),
    ({"type": "array", "items": {"type": "integer", "maximum": 1}}, [1, 2],
     ["spec.x[1]: Invalid value: 2: spec.x[1] in body should be less than or equal to 1"]),
    ({"type": "object", "maxProperties": 1, "additionalProperties": {"type": "string"}},
     {"a": "1", "b": "2"}, ["spec.x: Too many: 2: must have at most 1 items"]),
    ({"type": "object", "minProperties": 2, "additionalProperties": {"type": "string"}},
     {"a": "1"}, ["spec.x: Invalid value: 1: spec.x in body should have at least 2 properties"]),
    ({"type": "object", "additionalProperties": {"type": "string", "maxLength": 1}},
     {"k": "long"}, ["spec.x.k: Too long: may not be more than 1 byte"]),
    ({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
     {}, ["spec.x.name: Required value"]),
    ({"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
     ["a", "b", "a"], ['spec.x[2]: Duplicate value: "a"']),
    ({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name", "port"],
      "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                  "port": {"type": "integer"}}}},
     [{"name": "a", "port": 1}, {"name": "a", "port": 2}, {"name": "a", "port": 1}],
     ['spec.x[2]: Duplicate value: map[string]interface {}{"name":"a", "port":1}']),
]


@pytest.mark.parametrize(("prop", "value", "expected"), CASES)
def test_value_validation_words_errors_as_kubernetes(prop: dict[str, Any], value: Any,
                                                      expected: list[str]) -> None:
    assert messages(spec(x=prop), {"spec": {"x": value}}) == expected


def test_required_at_root_names_the_field_without_prefix() -> None:
    schema = {"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object"}}}
    assert messages(schema, {}) == ["spec: Required value"]


def test_type_mismatch_stops_validation_of_that_node() -> None:
    prop = {"type": "string", "maxLength": 1, "enum": ["a"]}
    assert len(messages(spec(x=prop), {"spec": {"x": 5}})) == 1


def test_pattern_is_re2_and_linear() -> None:
    prop = {"type": "string", "pattern": "^(a+)+$"}  # catastrophic for a backtracking engine
    errors = messages(spec(x=prop), {"spec": {"x": "a" * 50_000 + "b"}})
    assert errors and "should match '^(a+)+$'" in errors[0]


def test_any_of_and_one_of_and_all_of_and_not() -> None:
    # kube-openapi's schemaPropsValidator: the composite error (at the root path), then the
    # reasons of the closest branch
    prop = {"type": "integer", "anyOf": [{"minimum": 10}, {"maximum": 0}]}
    assert messages(spec(x=prop), {"spec": {"x": 5}}) == [
        '<nil>: Invalid value: "": "spec.x" must validate at least one schema (anyOf)',
        "spec.x: Invalid value: 5: spec.x in body should be greater than or equal to 10"]
    prop = {"type": "integer", "oneOf": [{"minimum": 0}, {"maximum": 10}]}
    assert messages(spec(x=prop), {"spec": {"x": 5}}) == [
        '<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). '
        "Found 2 valid alternatives"]
    prop = {"type": "integer", "oneOf": [{"minimum": 10}, {"maximum": 0}]}
    assert messages(spec(x=prop), {"spec": {"x": 5}})[0] == (
        '<nil>: Invalid value: "": "spec.x" must validate one and only one schema (oneOf). '
        "Found none valid")
    prop = {"type": "integer", "not": {"minimum": 0}}
    assert messages(spec(x=prop), {"spec": {"x": 5}}) == [
        '<nil>: Invalid value: "": "spec.x" must not validate the schema (not)']
    prop = {"type": "integer", "allOf": [{"minimum": 0}, {"maximum": 3}]}
    assert messages(spec(x=prop), {"spec": {"x": 5}}) == [
        '<nil>: Invalid value: "": "spec.x" must validate all the schemas (allOf)',
        "spec.x: Invalid value: 5: spec.x in body should be less than or equal to 3"]


def test_unchanged_invalid_values_are_ratcheted_on_update() -> None:
    schema = spec(x={"type": "integer", "maximum": 10}, y={"type": "integer", "maximum": 10})
    old = {"spec": {"x": 15, "y": 1}}
    assert messages(schema, {"spec": {"x": 15, "y": 2}}, old=old) == []
    assert messages(schema, {"spec": {"x": 16, "y": 1}}, old=old) == [
        "spec.x: Invalid value: 16: spec.x in body should be less than or equal to 10"]


def test_map_list_items_ratchet_by_key() -> None:
    schema = spec(x={"type": "array", "x-kubernetes-list-type": "map",
                     "x-kubernetes-list-map-keys": ["name"],
                     "items": {"type": "object", "properties": {
                         "name": {"type": "string"}, "v": {"type": "integer", "maximum": 1}}}})
    old = {"spec": {"x": [{"name": "a", "v": 5}]}}
    new = {"spec": {"x": [{"name": "b", "v": 1}, {"name": "a", "v": 5}]}}
    assert messages(schema, new, old=old) == []
