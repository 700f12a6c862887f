"""What apiextensions validation says of a CRD's openAPIV3Schema (validate_crd_schema)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubelite.api.crd.structural import CompiledSchema, SchemaError, validate_crd_schema

P = "spec.versions[0].schema.openAPIV3Schema"


def check(schema: Any) -> list[str]:
    return [e.message() for e in validate_crd_schema(schema, P)]


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def spec(**props: Any) -> dict[str, Any]:
    return obj(spec={"type": "object", "properties": props})


SPEC = f"{P}.properties[spec]"


@pytest.mark.parametrize(("schema", "expected"), [
    (obj(), []),
    ({"type": "object", "x-kubernetes-preserve-unknown-fields": True}, []),
    ({}, [f"{P}.type: Required value: must not be empty at the root"]),
    ({"type": "string"}, [f'{P}.type: Invalid value: "string": must be object at the root']),
    (spec(x={}), [f"{SPEC}.properties[x].type: Required value: must not be empty for specified object fields"]),
    (spec(x={"type": "array"}), [f"{SPEC}.properties[x].items: Required value: must be specified"]),
    (spec(x={"type": "array", "items": {}}),
     [f"{SPEC}.properties[x].items.type: Required value: must not be empty for specified array items"]),
    ({"type": "object", "additionalProperties": {"type": "string"}},
     [f"{P}.additionalProperties: Forbidden: must not be used at the root"]),
    (spec(x={"x-kubernetes-int-or-string": True}), []),
    (spec(x={"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}), []),
    (spec(x={"type": "string", "anyOf": [{"type": "integer"}]}),
     [f"{SPEC}.properties[x].anyOf[0].type: Forbidden: must be empty to be structural"]),
    (spec(x={"type": "string", "allOf": [{"description": "d", "nullable": True}]}),
     [f"{SPEC}.properties[x].allOf[0].description: Forbidden: must be empty to be structural",
      f"{SPEC}.properties[x].allOf[0].nullable: Forbidden: must be false to be structural"]),
    (spec(x={"type": "object", "anyOf": [{"properties": {"y": {"maximum": 1}}}]}),
     [f"{SPEC}.properties[x].properties[y]: Required value: because it is defined in "
      f"{SPEC}.properties[x].anyOf[0].properties[y]"]),
    (spec(x={"type": "object", "x-kubernetes-embedded-resource": True}),
     [f"{SPEC}.properties[x].properties: Required value: must not be empty if "
      "x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"]),
    (spec(x={"type": "string", "x-kubernetes-embedded-resource": True,
             "x-kubernetes-preserve-unknown-fields": True}),
     [f'{SPEC}.properties[x].type: Invalid value: "string": must be object if '
      "x-kubernetes-embedded-resource is true"]),
    (obj(metadata={"type": "object", "properties": {"labels": {"type": "object"}}}),
     [f"{P}.properties[metadata]: Forbidden: must not specify anything other than name and "
      "generateName, but metadata is implicitly specified"]),
    (obj(metadata={"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}}}), []),
    (obj(kind={"type": "integer"}), [f'{P}.properties[kind].type: Invalid value: "integer": must be string']),
    (spec(x={"type": "string", "pattern": "("}),
     [f'{SPEC}.properties[x].pattern: Invalid value: "(": must be a valid regular expression, '
      "but isn't: invalid regular expression: missing ): ("]),
    (spec(x={"type": "foo"}),
     [f'{SPEC}.properties[x].type: Unsupported value: "foo": supported values: "array", "boolean", '
      '"integer", "number", "object", "string"']),
    (spec(x={"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
     [f"{SPEC}.properties[x].uniqueItems: Forbidden: uniqueItems cannot be set to true since the "
      "runtime complexity becomes quadratic"]),
    (spec(x={"type": "object", "properties": {"a": {"type": "string"}},
             "additionalProperties": {"type": "string"}}),
     [f"{SPEC}.properties[x].additionalProperties: Forbidden: additionalProperties and properties "
      "are mutual exclusive"]),
    (spec(x={"type": "string", "$ref": "#/x"}), [f"{SPEC}.properties[x].$ref: Forbidden: $ref is not supported"]),
    (spec(x={"type": "object", "x-kubernetes-preserve-unknown-fields": False}),
     [f"{SPEC}.properties[x].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"]),
    (spec(x={"type": "string", "x-kubernetes-list-type": "set"}),
     [f'{SPEC}.properties[x].type: Invalid value: "string": must be array if x-kubernetes-list-type is specified']),
    (spec(x={"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "bag"}),
     [f'{SPEC}.properties[x].x-kubernetes-list-type: Unsupported value: "bag": supported values: '
      '"atomic", "set", "map"']),
    (spec(x={"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}},
             "x-kubernetes-list-type": "map"}),
     [f"{SPEC}.properties[x].x-kubernetes-list-map-keys: Required value: must not be empty if "
      "x-kubernetes-list-type is map"]),
    (spec(x={"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}},
             "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["m"]}),
     [f'{SPEC}.properties[x].x-kubernetes-list-map-keys: Invalid value: []string{{"m"}}: entries '
      "must all be names of item properties"]),
    (spec(x={"type": "array", "items": {"type": "object", "properties": {"n": {"type": "string"}}},
             "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["n"]}),
     [f"{SPEC}.properties[x].items.properties[n].default: Required value: this property is in "
      "x-kubernetes-list-map-keys, so it must have a default or be a required property"]),
    (spec(x={"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "set"}),
     [f"{SPEC}.properties[x].items.x-kubernetes-map-type: Invalid value: \"null\": must be atomic as "
      "item of a list with x-kubernetes-list-type=set"]),
    (obj(metadata={"type": "object", "default": {"name": "x"}}),
     [f"{P}.properties[metadata].default: Forbidden: must not be set in top-level metadata"]),
    ({"type": "object", "nullable": True}, [f"{P}.nullable: Forbidden: nullable cannot be true at the root"]),
])
def test_schema_rules(schema: Any, expected: list[str]) -> None:
    assert check(schema) == expected


@pytest.mark.parametrize(("prop", "expected"), [
    ({"type": "integer", "default": 5}, []),
    ({"type": "integer", "maximum": 3, "default": 5},
     [f"{SPEC}.properties[x].default: Invalid value: 5:  in body should be less than or equal to 3"]),
    ({"type": "integer", "default": "a"},
     [f'{SPEC}.properties[x].default: Invalid value: "string":  in body must be of type integer: "string"']),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "default": {"b": 1}},
     [f'{SPEC}.properties[x].default: Invalid value: {{"b":1}}: must not have unknown fields']),
    ({"type": "object", "properties": {"a": {"type": "integer", "maximum": 1}}, "default": {"a": 2}},
     [f"{SPEC}.properties[x].default.a: Invalid value: 2: a in body should be less than or equal to 1"]),
    ({"type": "integer", "default": 5, "x-kubernetes-validations": [{"rule": "self < 3", "message": "small"}]},
     [f'{SPEC}.properties[x].default: Invalid value: "integer": small']),
])
def test_defaults_must_validate(prop: dict[str, Any], expected: list[str]) -> None:
    assert check(spec(x=prop)) == expected


def test_rule_checks() -> None:
    bad = spec(x={"type": "integer", "x-kubernetes-validations": [
        {"rule": ""}, {"rule": "self > 0", "message": " "}, {"rule": "self > 0", "reason": "Nope"},
        {"rule": "self > 0", "fieldPath": ".missing"}]})
    p = f"{SPEC}.properties[x].x-kubernetes-validations"
    assert check(bad) == [
        f"{p}[0].rule: Required value: rule is not specified",
        f'{p}[1].message: Invalid value: " ": message must be non-empty if specified',
        f'{p}[2].reason: Unsupported value: "Nope": supported values: "FieldValueDuplicate", '
        '"FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"',
        f'{p}[3].fieldPath: Invalid value: ".missing": fieldPath must be a valid path',
    ]


def test_rule_that_does_not_compile() -> None:
    errors = check(spec(x={"type": "integer", "x-kubernetes-validations": [{"rule": "self >"}]}))
    assert len(errors) == 1
    assert errors[0].startswith(
        f'{SPEC}.properties[x].x-kubernetes-validations[0].rule: Invalid value: '
        'apiextensions.ValidationRule{Rule:"self >", Message:"", MessageExpression:"", '
        "Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\", "
        "OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:7: Syntax error:")


def test_message_expressions_compile_to_strings() -> None:
    p = f"{SPEC}.properties[x].x-kubernetes-validations[0].messageExpression"
    errors = check(spec(x={"type": "integer", "x-kubernetes-validations": [
        {"rule": "self > 0", "messageExpression": "1 + 1"}]}))
    assert len(errors) == 1 and errors[0].startswith(p) and errors[0].endswith(
        "must evaluate to a string")
    errors = check(spec(x={"type": "integer", "x-kubernetes-validations": [
        {"rule": "self > 0", "messageExpression": "'a' +"}]}))
    assert len(errors) == 1 and ": messageExpression compilation failed: ERROR: <input>:1:6:" in errors[0]


def test_rules_are_not_compiled_while_the_schema_is_wrong() -> None:
    errors = check(spec(x={"type": "array", "x-kubernetes-validations": [{"rule": "self >"}]}))
    assert errors == [f"{SPEC}.properties[x].items: Required value: must be specified"]


def test_old_self_where_values_do_not_correlate() -> None:
    schema = spec(x={"type": "array", "items": {"type": "integer", "x-kubernetes-validations": [
        {"rule": "self == oldSelf"}]}})
    assert check(schema) == [
        f'{SPEC}.properties[x].items.x-kubernetes-validations[0].rule: Invalid value: "self == oldSelf": '
        f"oldSelf cannot be used on the uncorrelatable portion of the schema within {SPEC}.properties[x]"]


def test_cost_of_nested_comprehensions_over_unbounded_lists() -> None:
    rule = {"rule": "self.all(a, self.all(b, a != b))"}
    unbounded = spec(x={"type": "array", "items": {"type": "string"}, "x-kubernetes-validations": [rule]})
    errors = check(unbounded)
    assert errors == [
        f"{SPEC}.properties[x].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds "
        "budget by factor of more than 100x (try simplifying the rule, or adding maxItems, "
        "maxProperties, and maxLength where arrays, maps, and strings are declared)",
        f"{SPEC}.properties[x].x-kubernetes-validations[0].rule: Forbidden: contributed to estimated rule "
        "cost total exceeding cost limit for entire OpenAPIv3 schema",
        f"{P}: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 "
        "schema exceeds budget by factor of more than 100x (try simplifying the rule, or adding "
        "maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"]
    bounded = spec(x={"type": "array", "maxItems": 100, "items": {"type": "string"},
                      "x-kubernetes-validations": [rule]})
    assert check(bounded) == []
    single = spec(x={"type": "array", "items": {"type": "string"},
                     "x-kubernetes-validations": [{"rule": "self.all(a, a != 'x')"}]})
    assert check(single) == []


def test_deep_and_huge_schemas_are_refused_not_recursed() -> None:
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(5000):
        deep = {"type": "object", "properties": {"a": deep}}
    errors = check(deep)
    assert len(errors) == 1 and "must not be nested more than 90 levels deep" in errors[0]
    wide = obj(**{f"p{i}": {"type": "string"} for i in range(100_001)})
    assert check(wide) == [f"{P}: Forbidden: must not have more than 100000 schema nodes"]


def test_non_dict_schema() -> None:
    assert check("nope") == [f"{P}.type: Required value: must not be empty at the root"]


def test_compile_raises_schema_error_with_the_errors() -> None:
    with pytest.raises(SchemaError) as err:
        CompiledSchema.compile({"type": "string"})
    assert err.value.errors[0].field == "openAPIV3Schema.type"


@pytest.mark.parametrize(("rule", "error"), [
    ("self.spec.replicas > 0", ""),
    ("self.spec.replicsa > 0", "ERROR: <input>:1:10: undefined field 'replicsa'\n"
                               " | self.spec.replicsa > 0\n | .........^"),
    ("has(self.spec.nope)", "ERROR: <input>:1:14: undefined field 'nope'\n"
                            " | has(self.spec.nope)\n | .............^"),
    ("self.spec.x__dash__y == ''", ""),  # x-y, escaped as Kubernetes does
    ("self.spec.labels.anything == 'a'", ""),  # map keys are free
    ("self.metadata.name == 'a'", ""),
    ("self.metadata.labels.size() > 0", "ERROR: <input>:1:14: undefined field 'labels'\n"
                                        " | self.metadata.labels.size() > 0\n | .............^"),
    ("self.spec.all(k, k != 'self.bad')", ""),
])
def test_rules_selecting_undefined_fields_do_not_compile(rule: str, error: str) -> None:
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": rule}], "properties": {
        "spec": {"type": "object", "properties": {
            "replicas": {"type": "integer"}, "x-y": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}}}}}}
    errors = check(schema)
    if not error:
        assert errors == []
    else:
        assert len(errors) == 1 and errors[0].endswith(f"compilation failed: {error}")


schema_words = st.sampled_from([
    "type", "properties", "items", "additionalProperties", "required", "enum", "default",
    "pattern", "maxLength", "anyOf", "allOf", "oneOf", "not", "nullable", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource", "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations", "metadata", "spec", "rule", "message", "fieldPath", "name"])
schema_leaves = (st.sampled_from(["object", "array", "string", "integer", "set", "map", "atomic",
                                  "self > 0", "self.spec.x == 1", "(", ".spec", "oldSelf == self"])
                 | st.booleans() | st.integers(-2, 3) | st.none())
random_schemas = st.recursive(
    schema_leaves,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(schema_words, c, max_size=5),
    max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(schema_words, random_schemas, max_size=5))
def test_any_schema_gets_errors_never_an_exception(schema: dict[str, Any]) -> None:
    errors = validate_crd_schema(schema, P)
    if not errors:
        compiled = CompiledSchema.compile(schema)
        obj: dict[str, Any] = {"spec": {"x": 1}}
        compiled.prune(obj)
        compiled.default(obj)
        compiled.validate(obj, {"spec": {}})


def test_status_subresource_restricts_the_root() -> None:
    ok = obj(spec={"type": "object"}, status={"type": "object"})
    assert validate_crd_schema(ok, P, status_subresource=True) == []
    with_any_of = {**ok, "anyOf": [{"required": ["spec"]}]}
    errors = [e.message() for e in validate_crd_schema(with_any_of, P, status_subresource=True)]
    assert errors[0].startswith(f"{P}: Invalid value: ") and errors[0].endswith(
        "only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum "
        "MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items "
        "Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed "
        "at the root of the schema if the status subresource is enabled")
    assert validate_crd_schema(with_any_of, P) == []
