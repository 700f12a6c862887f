"""JSON patches bounded as Kubernetes bounds them: operations, copies, depth."""

from __future__ import annotations

import time

import pytest

from kubelite.api.decoding import WALK_DEPTH
from kubelite.api.patch.errors import PatchError
from kubelite.api.patch.jsonpatch import MAX_OPERATIONS, apply_json_patch


def test_more_than_10000_operations_is_too_large() -> None:
    ops = [{"op": "test", "path": "/a", "value": 1}] * (MAX_OPERATIONS + 1)
    with pytest.raises(PatchError) as err:
        apply_json_patch({"a": 1}, ops)
    assert err.value.code == 413
    assert err.value.message == "The allowed maximum operations in a JSON patch is 10000, got 10001"


def test_doubling_copies_stop_at_the_copy_size_limit() -> None:
    ops = [{"op": "copy", "from": "/a", "path": "/a/-"}] * 60  # 2**60 nodes if unbounded
    start = time.perf_counter()
    with pytest.raises(PatchError) as err:
        apply_json_patch({"a": ["v" * 100]}, ops)
    assert err.value.code == 422 and "accumulated size increase of copy" in err.value.message
    assert time.perf_counter() - start < 2


def test_pointers_deeper_than_the_walk_depth_are_refused() -> None:
    with pytest.raises(PatchError) as err:
        apply_json_patch({}, [{"op": "add", "path": "/a" * (WALK_DEPTH + 1), "value": 1}])
    assert err.value.code == 422


def test_results_are_cut_for_walking() -> None:
    doc: dict = {}
    ops = []
    path = ""
    for _ in range(WALK_DEPTH - 1):
        path += "/a"
        ops.append({"op": "add", "path": path, "value": {}})
    ops += [{"op": "copy", "from": "/a", "path": path + "/b"}]
    out = apply_json_patch(doc, ops)
    depth = 0
    while isinstance(out, dict) and out:
        out = next(iter(out.values()))
        depth += 1
    assert depth <= WALK_DEPTH
