"""x-kubernetes-validations at request time: messages, reasons, fieldPath, transition rules."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api.crd import cel
from kubelite.api.crd.rules import RuleTree, normalize_field_path, validate_rules


def run(schema: dict[str, Any], obj: Any, old: Any = None) -> list[str]:
    tree = RuleTree.build(schema)
    return [e.message() for e in validate_rules(tree, obj, old, old is not None)]


def with_rules(rules: list[dict[str, Any]], **props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {
        "spec": {"type": "object", "x-kubernetes-validations": rules, "properties": props}}}


INT = {"type": "integer"}
STR = {"type": "string"}


@pytest.mark.parametrize(("rule", "obj", "expected"), [
    ({"rule": "self.min <= self.max"}, {"min": 1, "max": 2}, []),
    ({"rule": "self.min <= self.max"}, {"min": 3, "max": 2},
     ['spec: Invalid value: "object": failed rule: self.min <= self.max']),
    ({"rule": "self.min <= self.max", "message": " min must not exceed max "}, {"min": 3, "max": 2},
     ['spec: Invalid value: "object": min must not exceed max']),
    ({"rule": "self.min <= self.max", "messageExpression": "'min ' + string(self.min) + ' too big'"},
     {"min": 3, "max": 2}, ['spec: Invalid value: "object": min 3 too big']),
    # a messageExpression that fails falls back to the message
    ({"rule": "self.min <= self.max", "message": "m", "messageExpression": "self.nope"},
     {"min": 3, "max": 2}, ['spec: Invalid value: "object": m']),
    ({"rule": "self.min <= self.max", "reason": "FieldValueForbidden", "message": "no"},
     {"min": 3, "max": 2}, ["spec: Forbidden: no"]),
    ({"rule": "self.min <= self.max", "reason": "FieldValueRequired", "message": "need"},
     {"min": 3, "max": 2}, ["spec: Required value: need"]),
    ({"rule": "self.min <= self.max", "reason": "FieldValueDuplicate"},
     {"min": 3, "max": 2}, ['spec: Duplicate value: "object"']),
    ({"rule": "self.min <= self.max", "fieldPath": ".max", "message": "m"},
     {"min": 3, "max": 2}, ['spec.max: Invalid value: "object": m']),
    ({"rule": "has(self.name)"}, {}, ['spec: Invalid value: "object": failed rule: has(self.name)']),
    ({"rule": "self.name.startsWith('a') && self.name.lowerAscii() == 'abc'"}, {"name": "abc"}, []),
    ({"rule": "self.min / self.max > 0"}, {"min": 1, "max": 0},
     ['spec: Invalid value: "object": division by zero evaluating rule: self.min / self.max > 0']),
    ({"rule": "self.name == 'x'"}, {"min": 1},
     ['spec: Invalid value: "object": no such key: name evaluating rule: self.name == \'x\'']),
])
def test_rule_outcomes(rule: dict[str, Any], obj: Any, expected: list[str]) -> None:
    assert run(with_rules([rule], min=INT, max=INT, name=STR), {"spec": obj}) == expected


def test_rule_on_a_scalar_names_its_type() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "replicas": {"type": "integer", "x-kubernetes-validations": [
            {"rule": "self <= 10", "message": "must be <= 10"}]}}}}}
    assert run(schema, {"spec": {"replicas": 11}}) == [
        'spec.replicas: Invalid value: "integer": must be <= 10']


def test_root_rules_print_nil_path() -> None:
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": "self.metadata.name != 'x'"}]}
    assert run(schema, {"metadata": {"name": "x"}}) == [
        "<nil>: Invalid value: \"object\": failed rule: self.metadata.name != 'x'"]


def test_rules_under_lists_and_maps_use_index_and_key_paths() -> None:
    item = {"type": "object", "properties": {"v": INT},
            "x-kubernetes-validations": [{"rule": "self.v > 0", "message": "positive"}]}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "list": {"type": "array", "items": item},
        "map": {"type": "object", "additionalProperties": item}}}}}
    obj = {"spec": {"list": [{"v": 1}, {"v": 0}], "map": {"k": {"v": -1}}}}
    assert run(schema, obj) == ['spec.list[1]: Invalid value: "object": positive',
                                'spec.map[k]: Invalid value: "object": positive']


def test_transition_rules_run_only_on_update() -> None:
    schema = with_rules([{"rule": "self.v >= oldSelf.v", "message": "v may not decrease"}], v=INT)
    assert run(schema, {"spec": {"v": 1}}) == []
    assert run(schema, {"spec": {"v": 1}}, old={"spec": {"v": 2}}) == [
        'spec: Invalid value: "object": v may not decrease']
    assert run(schema, {"spec": {"v": 3}}, old={"spec": {"v": 2}}) == []


def test_transition_rules_on_map_list_items_correlate_by_key() -> None:
    item = {"type": "object", "properties": {"name": STR, "v": INT},
            "x-kubernetes-validations": [{"rule": "self.v >= oldSelf.v", "message": "grow"}]}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "l": {"type": "array", "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": ["name"], "items": item}}}}}
    old = {"spec": {"l": [{"name": "a", "v": 5}]}}
    new = {"spec": {"l": [{"name": "b", "v": 1}, {"name": "a", "v": 4}]}}
    assert run(schema, new, old) == ['spec.l[1]: Invalid value: "object": grow']


def test_unchanged_values_are_ratcheted_for_plain_rules() -> None:
    schema = with_rules([{"rule": "self.v < 5"}], v=INT, w=INT)
    old = {"spec": {"v": 9, "w": 1}}
    assert run(schema, {"spec": {"v": 9, "w": 1}}, old=old) == []
    assert run(schema, {"spec": {"v": 9, "w": 2}}, old=old) == [
        'spec: Invalid value: "object": failed rule: self.v < 5']


def test_iteration_limit_stops_rules_with_kubernetes_words() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "l": {"type": "array", "items": INT, "x-kubernetes-validations": [
            {"rule": "self.all(a, self.all(b, a != b || a == b))"}]}}}}}
    errors = run(schema, {"spec": {"l": list(range(500))}})
    assert errors == [
        "spec.l: Invalid value: \"array\": 'operation cancelled: actual cost limit exceeded': no "
        "further validation rules will be run due to call cost exceeds limit for rule: "
        "self.all(a, self.all(b, a != b || a == b))"]


def test_budget_exhaustion_stops_validation() -> None:
    schema = with_rules([{"rule": "self.v > 0"}], v=INT)
    errors = [e.message() for e in validate_rules(RuleTree.build(schema), {"spec": {"v": 1}},
                                                  None, False, budget=1)]
    assert errors == ['spec: Invalid value: "object": validation failed due to running out of cost '
                      "budget, no further validation rules will be run"]


def test_kubernetes_list_and_regex_libraries() -> None:
    schema = with_rules([
        {"rule": "self.l.isSorted() && self.l.sum() == 6 && self.l.max() == 3 && self.l.min() == 1"},
        {"rule": "self.l.indexOf(2) == 1 && self.l.lastIndexOf(9) == -1"},
        {"rule": "self.s.find('[0-9]+') == '42' && self.s.findAll('[a-z]') == ['a', 'b']"},
        {"rule": "self.s.split('-').size() == 2 && self.?missing.orValue('d') == 'd'"},
    ], l={"type": "array", "items": INT}, s=STR)
    assert run(schema, {"spec": {"l": [1, 2, 3], "s": "a42-b"}}) == []


@pytest.mark.parametrize(("path", "normalized"), [
    (".spec", "spec"), (".a.b", "a.b"), (".a['x.y']", "a[x.y]"), ("", ""), ("a", ""),
])
def test_field_path_normalization(path: str, normalized: str) -> None:
    assert normalize_field_path(path) == normalized


def test_compile_is_cached_and_errors_read_like_cel_go() -> None:
    assert cel.compile_expression("self > 1") is cel.compile_expression("self > 1")
    with pytest.raises(cel.CelCompileError) as err:
        cel.compile_expression("self.x +")
    assert str(err.value).startswith("ERROR: <input>:1:9: Syntax error:")
    assert "\n | self.x +\n | ........^" in str(err.value)


def test_comprehension_receivers_and_nesting() -> None:
    assert cel.comprehension_receivers("self.a.all(x, x.b.exists(y, y > 0)) && 'q.all(' != ''") == [
        ("self.a", 1), ("x.b", 2)]


def test_old_self_detection_ignores_string_literals() -> None:
    assert not cel.compile_expression("self == 'oldSelf'").uses_old_self
    assert cel.compile_expression("self == oldSelf").uses_old_self


def test_optional_old_self_rules_run_on_create_with_none() -> None:
    schema = with_rules([{"rule": "!oldSelf.hasValue() || self.v >= oldSelf.value().v",
                          "optionalOldSelf": True, "message": "v may not decrease"},
                         {"rule": "oldSelf.hasValue() || self.v < 10", "optionalOldSelf": True,
                          "message": "new objects start below 10"}], v=INT)
    assert run(schema, {"spec": {"v": 50}}) == [
        'spec: Invalid value: "object": new objects start below 10']
    assert run(schema, {"spec": {"v": 1}}, old={"spec": {"v": 2}}) == [
        'spec: Invalid value: "object": v may not decrease']
    assert run(schema, {"spec": {"v": 60}}, old={"spec": {"v": 50}}) == []


@pytest.mark.parametrize(("source", "rewritten"), [
    ("self.x__dash__y == 1", 'self["x-y"] == 1'),
    ("has(self.x__dash__y)", '("x-y" in self)'),
    ("has(self.a.__namespace__)", '("namespace" in self.a)'),
    ("self.__in__ + 'x__dash__y' == ''", "self[\"in\"] + 'x__dash__y' == ''"),
    ("self.l.all(i, i.x__dot__z > 0)", 'self.l.all(i, i["x.z"] > 0)'),
    ("self.f__dash__g(1)", "self.f__dash__g(1)"),
])
def test_escaped_property_names_select_the_real_keys(source: str, rewritten: str) -> None:
    assert cel.unescape_selects(source) == rewritten


def test_escaped_names_evaluate() -> None:
    schema = with_rules([{"rule": "has(self.x__dash__y) && self.x__dash__y == 1 && "
                                  "self.__namespace__ == 'n'"}],
                        **{"x-y": INT, "namespace": STR})
    assert run(schema, {"spec": {"x-y": 1, "namespace": "n"}}) == []
    assert len(run(schema, {"spec": {"namespace": "n"}})) == 1
