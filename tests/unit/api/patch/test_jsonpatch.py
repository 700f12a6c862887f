"""RFC 6902 JSON patch (`kubectl patch --type=json`), with evanphx/json-patch's error words."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api.patch import PatchError, apply_json_patch

DOC = {
    "metadata": {"name": "web", "labels": {"a/b": "1", "c~d": "2"}},
    "spec": {"args": ["x", "y"]},
}


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        ([{"op": "add", "path": "/spec/args/-", "value": "z"}], ["x", "y", "z"]),
        ([{"op": "add", "path": "/spec/args/0", "value": "w"}], ["w", "x", "y"]),
        ([{"op": "add", "path": "/spec/args/2", "value": "z"}], ["x", "y", "z"]),
        ([{"op": "remove", "path": "/spec/args/0"}], ["y"]),
        ([{"op": "replace", "path": "/spec/args/1", "value": "q"}], ["x", "q"]),
        ([{"op": "move", "from": "/spec/args/0", "path": "/spec/args/-"}], ["y", "x"]),
        ([{"op": "copy", "from": "/spec/args/1", "path": "/spec/args/0"}], ["y", "x", "y"]),
    ],
)
def test_list_operations(operations: list[Any], expected: list[str]) -> None:
    assert apply_json_patch(DOC, operations)["spec"]["args"] == expected


def test_pointer_escapes_address_keys_with_slash_and_tilde() -> None:
    result = apply_json_patch(
        DOC,
        [
            {"op": "replace", "path": "/metadata/labels/a~1b", "value": "10"},
            {"op": "remove", "path": "/metadata/labels/c~0d"},
        ],
    )
    assert result["metadata"]["labels"] == {"a/b": "10"}


def test_add_replaces_an_existing_member_and_creates_a_new_one() -> None:
    result = apply_json_patch(
        DOC,
        [
            {"op": "add", "path": "/metadata/name", "value": "api"},
            {"op": "add", "path": "/metadata/annotations", "value": {"k": "v"}},
        ],
    )
    assert result["metadata"]["name"] == "api"
    assert result["metadata"]["annotations"] == {"k": "v"}


def test_test_operation_passes_then_applies_rest() -> None:
    result = apply_json_patch(
        DOC,
        [
            {"op": "test", "path": "/metadata/name", "value": "web"},
            {"op": "replace", "path": "/metadata/name", "value": "api"},
        ],
    )
    assert result["metadata"]["name"] == "api"


def test_copy_is_a_deep_copy() -> None:
    result = apply_json_patch(
        DOC, [{"op": "copy", "from": "/metadata/labels", "path": "/spec/labels"}]
    )
    result["spec"]["labels"]["new"] = "x"
    assert "new" not in result["metadata"]["labels"]


def test_replace_whole_document() -> None:
    assert apply_json_patch(DOC, [{"op": "replace", "path": "", "value": {"x": 1}}]) == {"x": 1}


def test_input_is_not_modified() -> None:
    before = {"a": [1]}
    apply_json_patch(before, [{"op": "add", "path": "/a/-", "value": 2}])
    assert before == {"a": [1]}


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (
            {"op": "test", "path": "/metadata/name", "value": "api"},
            "testing value /metadata/name failed: test failed",
        ),
        (
            {"op": "add", "path": "/nope/x", "value": 1},
            'add operation does not apply: doc is missing path: "/nope/x": missing value',
        ),
        (
            {"op": "replace", "path": "/metadata/missing", "value": 1},
            "replace operation does not apply: doc is missing key: /metadata/missing: missing value",
        ),
        (
            {"op": "remove", "path": "/metadata/missing"},
            "Unable to remove nonexistent key: missing: missing value",
        ),
        (
            {"op": "remove", "path": "/spec/args/5"},
            "Unable to access invalid index: 5: invalid index referenced",
        ),
        (
            {"op": "add", "path": "/spec/args/3", "value": "z"},
            "Unable to access invalid index: 3: invalid index referenced",
        ),
        (
            {"op": "move", "from": "/nope/x", "path": "/a"},
            "move operation does not apply: doc is missing from path: /nope/x: missing value",
        ),
        ({"op": "frobnicate", "path": "/a"}, "Unexpected kind: frobnicate"),
        (
            {"op": "add", "path": "no-slash", "value": 1},
            'add operation does not apply: doc is missing path: "no-slash": missing value',
        ),
    ],
)
def test_errors_use_kubernetes_words(operation: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch(DOC, [operation])
    assert str(err.value) == message
    assert err.value.code == 422  # Kubernetes: Unprocessable Entity


def test_failed_operation_leaves_input_untouched() -> None:
    doc = {"a": 1}
    with pytest.raises(PatchError):
        apply_json_patch(
            doc,
            [{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 3}],
        )
    assert doc == {"a": 1}


def test_patch_must_be_a_list() -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch(DOC, {"op": "add"})  # type: ignore[arg-type]
    assert err.value.code == 400
