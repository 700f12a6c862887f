"""Pruning of unknown fields and structural defaulting of custom resources."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kubelite.api.crd.defaulting import default
from kubelite.api.crd.pruning import prune, unknown_field_warnings

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer", "default": 1},
                "mode": {"type": "string", "default": "fast"},
                "note": {"type": "string", "nullable": True, "default": "n"},
                "plain": {"type": "string"},
                "nested": {"type": "object", "default": {},
                           "properties": {"depth": {"type": "integer", "default": 3}}},
                "items": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"},
                                   "weight": {"type": "integer", "default": 10}}}},
                "labels": {"type": "object", "additionalProperties": {
                    "type": "object", "properties": {"v": {"type": "string", "default": "x"}}}},
                "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                        "properties": {"known": {"type": "object",
                                                 "properties": {"a": {"type": "string"}}}}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "properties": {"spec": {"type": "object",
                                                     "properties": {"x": {"type": "string"}}}}},
                "free": {"type": "object", "additionalProperties": True},
            },
        },
    },
}


def test_prune_drops_unknown_fields_and_reports_their_paths() -> None:
    obj = {"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "n"}, "extra": 1,
           "spec": {"foo": 1, "items": [{"name": "a", "bar": 2}],
                    "labels": {"k": {"v": "1", "w": 2}},
                    "raw": {"anything": {"deep": 1}, "known": {"a": "1", "b": 2}},
                    "template": {"apiVersion": "v1", "kind": "Pod",
                                 "metadata": {"name": "p", "bogus": 1},
                                 "spec": {"x": "1", "y": 2}, "status": {}},
                    "free": {"anything": [1]}}}
    pruned = prune(obj, SCHEMA)
    assert pruned == ["extra", "spec.foo", "spec.items[0].bar", "spec.labels.k.w",
                      "spec.raw.known.b", "spec.template.metadata.bogus", "spec.template.spec.y",
                      "spec.template.status"]
    assert unknown_field_warnings(pruned)[0] == 'unknown field "extra"'
    assert obj["spec"]["raw"] == {"anything": {"deep": 1}, "known": {"a": "1"}}
    assert obj["spec"]["template"] == {"apiVersion": "v1", "kind": "Pod",
                                       "metadata": {"name": "p"}, "spec": {"x": "1"}}
    assert obj["metadata"] == {"name": "n"} and obj["apiVersion"] == "a/v1"
    assert obj["spec"]["free"] == {"anything": [1]}


def test_root_preserve_unknown_fields_keeps_everything() -> None:
    obj = {"a": {"b": 1}, "spec": {"c": 2}}
    assert prune(obj, {"type": "object", "x-kubernetes-preserve-unknown-fields": True}) == []
    assert obj == {"a": {"b": 1}, "spec": {"c": 2}}


def test_defaults_fill_absent_fields_top_down() -> None:
    obj: dict[str, Any] = {"spec": {"items": [{"name": "a"}, {"name": "b", "weight": 1}],
                                    "labels": {"k": {}}}}
    default(obj, SCHEMA)
    assert obj["spec"]["replicas"] == 1 and obj["spec"]["mode"] == "fast"
    assert obj["spec"]["nested"] == {"depth": 3}  # the defaulted {} is defaulted in turn
    assert [i["weight"] for i in obj["spec"]["items"]] == [10, 1]
    assert obj["spec"]["labels"]["k"] == {"v": "x"}


def test_null_takes_the_default_unless_nullable() -> None:
    obj: dict[str, Any] = {"spec": {"mode": None, "note": None, "plain": None}}
    default(obj, SCHEMA)
    assert obj["spec"]["mode"] == "fast"
    assert obj["spec"]["note"] is None  # nullable: null is a value
    assert "plain" not in obj["spec"]  # null without default means unset


def test_defaults_are_copies() -> None:
    a: dict[str, Any] = {"spec": {}}
    b: dict[str, Any] = {"spec": {}}
    default(a, SCHEMA)
    default(b, SCHEMA)
    a["spec"]["nested"]["depth"] = 99
    assert b["spec"]["nested"]["depth"] == 3


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["spec", "replicas", "items", "name", "raw", "x"]),
                      children, max_size=4),
    max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["spec", "status", "apiVersion", "x"]), json_values,
                       max_size=4))
def test_prune_is_idempotent_and_never_adds(obj: dict[str, Any]) -> None:
    first = copy.deepcopy(obj)
    prune(first, SCHEMA)
    second = copy.deepcopy(first)
    assert prune(second, SCHEMA) == []
    assert second == first


def test_preserving_lists_carry_preservation_into_items() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "l": {"type": "array", "x-kubernetes-preserve-unknown-fields": True,
              "items": {"type": "object", "properties": {"k": {"type": "object", "properties": {
                  "a": {"type": "string"}}}}}}}}}}
    obj = {"spec": {"l": [{"free": 1, "k": {"a": "x", "b": 2}}]}}
    assert prune(obj, schema) == ["spec.l[0].k.b"]
    assert obj["spec"]["l"][0] == {"free": 1, "k": {"a": "x"}}


def test_values_without_schema_keep_scalars_and_lose_object_fields() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "m": {"type": "object", "additionalProperties": True}}}}}
    obj = {"spec": {"m": {"s": "v", "o": {"x": 1}, "l": [{"y": 2}, 3]}}}
    assert prune(obj, schema) == ["spec.m.o.x", "spec.m.l[0].y"]
    assert obj["spec"]["m"] == {"s": "v", "o": {}, "l": [{}, 3]}


def test_null_map_values_take_the_value_schema_default() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "m": {"type": "object", "additionalProperties": {"type": "string", "default": "d"}},
        "n": {"type": "object", "additionalProperties": {"type": "string"}}}}}}
    obj: dict[str, Any] = {"spec": {"m": {"a": None, "b": "x"}, "n": {"a": None, "b": "y"}}}
    default(obj, schema)
    assert obj["spec"] == {"m": {"a": "d", "b": "x"}, "n": {"b": "y"}}
