"""Bodies decoded within Kubernetes' limits: depth, YAML aliases, keys, never a RecursionError."""

from __future__ import annotations

import time

import pytest
import yaml

from kubelite.api.decoding import (
    ALIAS_ERROR,
    DEPTH_ERROR,
    MAX_DEPTH,
    RECURSIVE_ALIAS_ERROR,
    WALK_DEPTH,
    DecodeError,
    decode_json,
    decode_yaml,
)

BILLION_LAUGHS = "\n".join(
    [f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]" for i in range(1, 9)]
)
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + BILLION_LAUGHS


def _depth(value: object) -> int:
    depth = 0
    while isinstance(value, list | dict) and value:
        depth += 1
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
    return depth + isinstance(value, list | dict)


def _nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def test_shallow_json_is_decoded_as_is() -> None:
    assert decode_json(b'{"a": [1, {"b": null}], "c": "x"}') == {"a": [1, {"b": None}], "c": "x"}


def test_json_is_accepted_to_kubernetes_depth_and_cut_for_walking() -> None:
    value = decode_json(_nested(MAX_DEPTH))
    assert _depth(value) == WALK_DEPTH  # what lies below is an unknown field's inside


def test_json_deeper_than_kubernetes_is_refused_without_recursion_error() -> None:
    with pytest.raises(DecodeError) as err:
        decode_json(_nested(MAX_DEPTH + 1))
    assert str(err.value) == DEPTH_ERROR
    with pytest.raises(DecodeError):
        decode_json(b'{"a":' * 200_000 + b"1" + b"}" * 200_000)


def test_json_depth_bound_holds_deep_inside_a_call_stack() -> None:
    def nest(n: int) -> object:
        return nest(n - 1) if n else decode_json(_nested(WALK_DEPTH + 50))

    assert _depth(nest(300)) == WALK_DEPTH


def test_billion_laughs_is_refused_before_construction() -> None:
    start = time.perf_counter()
    with pytest.raises(DecodeError) as err:
        decode_yaml(BILLION_LAUGHS)
    assert str(err.value) == ALIAS_ERROR
    assert time.perf_counter() - start < 0.5  # measured ~0.3 ms


def test_modest_aliases_are_expanded_into_a_tree() -> None:
    value = decode_yaml("x: &x {a: 1}\ny: *x\nz: {<<: *x, b: 2}")
    assert value == {"x": {"a": 1}, "y": {"a": 1}, "z": {"a": 1, "b": 2}}
    value["x"]["a"] = 5
    assert value["y"]["a"] == 1  # copies, as Kubernetes expands aliases


@pytest.mark.parametrize("doc", ["a: &a [*a]", "a: &a {b: [*a]}"])
def test_an_anchor_containing_itself_is_refused(doc: str) -> None:
    with pytest.raises(DecodeError) as err:
        decode_yaml(doc)
    assert str(err.value) == RECURSIVE_ALIAS_ERROR


def test_yaml_keys_become_strings_as_sigs_k8s_io_yaml() -> None:
    assert decode_yaml("{1: a, true: b, null: c, x: 2001-12-14T21:59:43Z, d: 2001-01-01}") == {
        "1": "a", "true": "b", "null": "c", "x": "2001-12-14T21:59:43Z", "d": "2001-01-01",
    }


def test_long_yaml_integers_are_refused_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(yaml.YAMLError):
        decode_yaml("a: 1" + ":59" * 200_000)  # sexagesimal: quadratic to construct
    with pytest.raises((yaml.YAMLError, DecodeError)):
        decode_yaml("a: " + "9" * 10_000)
    assert time.perf_counter() - start < 1


def test_yaml_nesting_is_bounded_by_libyaml() -> None:
    with pytest.raises(yaml.YAMLError):
        decode_yaml("[" * 5000 + "]" * 5000)


def test_multiple_documents_are_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        decode_yaml("a: 1\n---\nb: 2\n")
