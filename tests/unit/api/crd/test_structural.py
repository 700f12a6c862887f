"""CompiledSchema end to end: compile a CRD version's schema, then prune, default, validate."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubelite.api.crd.structural import CompiledSchema, validate_crd_schema

# A schema shaped like the Prometheus operator's ServiceMonitor: int-or-string ports with the
# anyOf pattern, atomic maps, a map-list, label selectors, patterns, enums and defaults.
INT_OR_STRING = {"anyOf": [{"type": "integer"}, {"type": "string"}],
                 "x-kubernetes-int-or-string": True}
SELECTOR = {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
    "matchExpressions": {"type": "array", "items": {
        "type": "object", "required": ["key", "operator"], "properties": {
            "key": {"type": "string"}, "operator": {"type": "string"},
            "values": {"type": "array", "items": {"type": "string"},
                       "x-kubernetes-list-type": "atomic"}}},
        "x-kubernetes-list-type": "atomic"},
    "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}}
SERVICE_MONITOR: dict[str, Any] = {
    "description": "ServiceMonitor defines monitoring for a set of services.",
    "type": "object", "required": ["spec"],
    "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {"type": "object", "required": ["selector"], "properties": {
            "endpoints": {"type": "array", "items": {"type": "object", "properties": {
                "port": {"type": "string"},
                "targetPort": INT_OR_STRING,
                "interval": {"type": "string", "pattern": "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?"
                             "(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"},
                "scheme": {"type": "string", "enum": ["http", "https"]},
                "honorLabels": {"type": "boolean", "default": False},
                "relabelings": {"type": "array", "items": {"type": "object", "properties": {
                    "action": {"type": "string", "default": "replace",
                               "enum": ["replace", "Replace", "keep", "Keep", "drop", "Drop"]},
                    "regex": {"type": "string"},
                    "sourceLabels": {"type": "array", "items": {
                        "type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"}}}}},
                "tlsConfig": {"type": "object", "properties": {
                    "ca": {"type": "object", "properties": {
                        "secret": {"type": "object", "x-kubernetes-map-type": "atomic",
                                   "required": ["key"], "properties": {
                                       "key": {"type": "string"},
                                       "name": {"type": "string", "default": ""},
                                       "optional": {"type": "boolean"}}}}},
                    "insecureSkipVerify": {"type": "boolean"}}}}}},
            "jobLabel": {"type": "string"},
            "namespaceSelector": {"type": "object", "properties": {
                "any": {"type": "boolean"},
                "matchNames": {"type": "array", "items": {"type": "string"}}}},
            "sampleLimit": {"type": "integer", "format": "int64", "minimum": 0},
            "selector": SELECTOR,
            "attachMetadata": {"type": "object", "properties": {"node": {"type": "boolean"}}},
            "bodySizeLimit": {"type": "string",
                              "pattern": "(^0|([0-9]*[.])?[0-9]+((K|M|G|T|E|P)i?)?B)$"},
            "nativeHistogramMinBucketFactor": {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                           r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
                "x-kubernetes-int-or-string": True},
            "scrapeProtocols": {"type": "array", "x-kubernetes-list-type": "set", "items": {
                "type": "string", "enum": ["PrometheusProto", "OpenMetricsText1.0.0"]}},
            "ports": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["name"], "maxItems": 16,
                      "items": {"type": "object", "required": ["name"], "properties": {
                          "name": {"type": "string"}, "port": {"type": "integer"}}},
                      "x-kubernetes-validations": [
                          {"rule": "self.all(p, !has(p.port) || p.port > 0)",
                           "message": "ports must be positive"}]},
        }, "x-kubernetes-validations": [
            {"rule": "!has(self.jobLabel) || self.jobLabel.size() <= 63",
             "messageExpression": "'jobLabel is ' + string(self.jobLabel.size()) + ' long'"},
            {"rule": "!has(oldSelf.jobLabel) || self.jobLabel == oldSelf.jobLabel",
             "message": "jobLabel is immutable", "reason": "FieldValueForbidden",
             "fieldPath": ".jobLabel"},
        ]},
    },
}


@pytest.fixture(scope="module")
def monitor() -> CompiledSchema:
    return CompiledSchema.compile(SERVICE_MONITOR)


def good() -> dict[str, Any]:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": {"name": "web", "namespace": "default", "labels": {"a": "b"}},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "endpoints": [{"port": "http", "interval": "30s", "targetPort": 8080,
                                    "relabelings": [{"sourceLabels": ["__name__"]}],
                                    "tlsConfig": {"ca": {"secret": {"key": "ca.crt"}}}}],
                     "jobLabel": "app", "ports": [{"name": "a", "port": 1}]}}


def admit(schema: CompiledSchema, obj: dict[str, Any],
          old: dict[str, Any] | None = None) -> tuple[list[str], list[str]]:
    warnings = schema.prune(obj)
    schema.default(obj)
    return warnings, [e.message() for e in schema.validate(obj, old)]


def test_the_schema_is_structural() -> None:
    assert validate_crd_schema(SERVICE_MONITOR, "spec.versions[0].schema.openAPIV3Schema") == []


def test_a_good_object_is_kept_and_defaulted(monitor: CompiledSchema) -> None:
    obj = good()
    obj["spec"].update(nativeHistogramMinBucketFactor="1.5", bodySizeLimit="10MB")
    assert admit(monitor, obj) == ([], [])
    endpoint = obj["spec"]["endpoints"][0]
    assert endpoint["honorLabels"] is False
    assert endpoint["relabelings"][0]["action"] == "replace"
    assert endpoint["tlsConfig"]["ca"]["secret"] == {"key": "ca.crt", "name": ""}
    assert obj["metadata"]["labels"] == {"a": "b"}  # metadata is not pruned by the schema


def test_unknown_fields_are_pruned_with_warnings(monitor: CompiledSchema) -> None:
    obj = good()
    obj["spec"]["endpoints"][0]["bogus"] = 1
    obj["spec"]["extra"] = {"x": 1}
    warnings, errors = admit(monitor, obj)
    assert warnings == ['unknown field "spec.endpoints[0].bogus"', 'unknown field "spec.extra"']
    assert errors == []


def test_a_bad_object_gets_every_error(monitor: CompiledSchema) -> None:
    obj = good()
    obj["spec"].update(nativeHistogramMinBucketFactor="1.5x", bodySizeLimit="10MB",
                       scrapeProtocols=["PrometheusProto", "PrometheusProto"])
    endpoint = obj["spec"]["endpoints"][0]
    endpoint.update(scheme="ftp", interval="soon", targetPort=True)
    obj["spec"]["sampleLimit"] = -1
    del obj["spec"]["selector"]
    _, errors = admit(monitor, obj)
    assert errors == [
        'spec.endpoints[0].targetPort: Invalid value: "boolean": spec.endpoints[0].targetPort in '
        'body must be of type integer,string: "boolean"',
        'spec.endpoints[0].interval: Invalid value: "soon": spec.endpoints[0].interval in body '
        "should match '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
        "(([0-9]+)ms)?)$'",
        'spec.endpoints[0].scheme: Unsupported value: "ftp": supported values: "http", "https"',
        "spec.sampleLimit: Invalid value: -1: spec.sampleLimit in body should be greater than or "
        "equal to 0",
        'spec.nativeHistogramMinBucketFactor: Invalid value: "1.5x": '
        "spec.nativeHistogramMinBucketFactor in body should match '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|"
        "(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$'",
        'spec.scrapeProtocols[1]: Duplicate value: "PrometheusProto"',
        "spec.selector: Required value",
        '<nil>: Invalid value: "null": some validation rules were not checked because the object '
        "was invalid; correct the existing errors to complete validation",
    ]


def test_cel_rules_and_transition_rules(monitor: CompiledSchema) -> None:
    obj = good()
    obj["spec"]["jobLabel"] = "x" * 64
    obj["spec"]["ports"] = [{"name": "a", "port": 0}]
    _, errors = admit(monitor, obj)
    assert errors == ['spec: Invalid value: "object": jobLabel is 64 long',
                      'spec.ports: Invalid value: "array": ports must be positive']
    old = good()
    new = good()
    new["spec"]["jobLabel"] = "other"
    _, errors = admit(monitor, new, old)
    assert errors == ["spec.jobLabel: Forbidden: jobLabel is immutable"]


def test_compile_keeps_its_own_copy() -> None:
    schema = copy.deepcopy(SERVICE_MONITOR)
    compiled = CompiledSchema.compile(schema)
    schema["properties"]["spec"]["properties"].clear()
    obj = good()
    assert admit(compiled, obj)[0] == []


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(
                        st.sampled_from(["spec", "endpoints", "port", "targetPort", "selector",
                                         "matchLabels", "ports", "name", "jobLabel", "x"]),
                        c, max_size=4), max_leaves=25))
def test_any_json_is_admitted_or_refused_never_crashes(value: Any) -> None:
    compiled = CompiledSchema.compile(SERVICE_MONITOR)
    obj = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
           "metadata": {"name": "x"}, "spec": value}
    admit(compiled, obj)


async def test_big_bodies_are_validated_off_the_event_loop() -> None:
    import asyncio

    item = {"type": "object", "properties": {"n": {"type": "integer"}},
            "x-kubernetes-validations": [{"rule": "self.n >= 0", "message": "n >= 0"}]}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "items": {"type": "array", "items": item}}}}}
    compiled = CompiledSchema.compile(schema)
    obj = {"spec": {"items": [{"n": i} for i in range(2000)] + [{"n": -1}]}}
    ran_meanwhile: list[bool] = []

    async def other_request() -> None:
        ran_meanwhile.append(True)

    other = asyncio.ensure_future(other_request())
    errors = await compiled.validate_async(obj, body_size=1 << 20)
    finished_first = bool(ran_meanwhile)
    await other
    assert [e.message() for e in errors] == ['spec.items[2000]: Invalid value: "object": n >= 0']
    assert finished_first  # the loop served another task while validation ran
    small = await compiled.validate_async({"spec": {"items": [{"n": -2}]}}, body_size=100)
    assert [e.field for e in small] == ["spec.items[0]"]


def test_embedded_resources_must_say_what_they_are() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                     "x-kubernetes-preserve-unknown-fields": True}}}}}
    compiled = CompiledSchema.compile(schema)
    obj = {"spec": {"template": {"kind": "", "metadata": {"name": "x"}, "spec": {"a": 1}}}}
    assert admit(compiled, obj) == ([], [
        "spec.template.apiVersion: Required value: must not be empty",
        'spec.template.kind: Invalid value: "": must not be empty'])
    good_obj = {"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "spec": {"a": 1}}}}
    assert admit(compiled, good_obj) == ([], [])
    assert good_obj["spec"]["template"]["spec"] == {"a": 1}  # preserved
