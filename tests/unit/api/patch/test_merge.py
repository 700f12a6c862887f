"""RFC 7386 JSON merge patch, the patch `kubectl label`/`annotate`/`scale` send."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from kubelite.api.patch import apply_merge_patch, create_merge_patch

from .strategies import json_objects, patch_settings


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [
        # The examples of RFC 7386 appendix A.
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_rfc7386_examples(original: Any, patch: Any, expected: Any) -> None:
    assert apply_merge_patch(original, patch) == expected


def test_kubectl_label_patch_adds_and_removes_labels() -> None:
    pod = {
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
        "spec": {"containers": [{"name": "c"}]},
    }
    patch = {"metadata": {"labels": {"tier": None, "env": "prod"}}}
    assert apply_merge_patch(pod, patch) == {
        "metadata": {"name": "web", "labels": {"app": "web", "env": "prod"}},
        "spec": {"containers": [{"name": "c"}]},
    }


def test_inputs_are_not_modified() -> None:
    original = {"a": {"b": [1, 2]}, "c": 1}
    patch = {"a": {"b": [3]}, "c": None}
    apply_merge_patch(original, patch)
    assert original == {"a": {"b": [1, 2]}, "c": 1}
    assert patch == {"a": {"b": [3]}, "c": None}


def test_result_shares_no_structure_with_the_patch() -> None:
    patch = {"a": {"b": [1]}}
    result = apply_merge_patch({}, patch)
    result["a"]["b"].append(2)
    assert patch == {"a": {"b": [1]}}


def test_create_merge_patch_is_minimal() -> None:
    original = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}
    modified = {"a": 1, "b": {"c": 2, "d": 4}, "f": True}
    assert create_merge_patch(original, modified) == {"b": {"d": 4}, "e": None, "f": True}


@patch_settings
@given(json_objects, json_objects)
def test_merge_patch_of_a_diff_turns_a_into_b(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert apply_merge_patch(a, create_merge_patch(a, b)) == b


@patch_settings
@given(json_objects, json_objects)
def test_merge_patch_is_idempotent(a: dict[str, Any], patch: dict[str, Any]) -> None:
    once = apply_merge_patch(a, patch)
    assert apply_merge_patch(once, patch) == once
