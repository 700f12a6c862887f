"""The JSONPath subset of printer columns and selectable fields."""

from __future__ import annotations

import pytest

from kubelite.api.crd import jsonpath

OBJ = {"spec": {"replicas": 3, "tags": ["a", "b"]},
       "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]},
       "metadata": {"labels": {"app.kubernetes.io/name": "web"}}}


@pytest.mark.parametrize(("path", "found"), [
    (".spec.replicas", [3]),
    (".spec.tags[1]", ["b"]),
    (".spec.tags[*]", ["a", "b"]),
    ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
    (".status.conditions[?(@.type!='Ready')].type", ["Synced"]),
    (r".metadata.labels.app\.kubernetes\.io/name", ["web"]),
    ("{.spec.missing}", []),
])
def test_find(path: str, found: list[object]) -> None:
    assert jsonpath.find(jsonpath.parse(path), OBJ) == found


@pytest.mark.parametrize("path", ["spec[", ".spec.x[?(@.a>1)]", "spec replicas"])
def test_outside_the_subset_is_an_error(path: str) -> None:
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.parse(path)
