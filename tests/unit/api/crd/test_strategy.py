"""The custom resource strategy reports what pruning drops as field paths, whichever way the
schema engine words them."""

from __future__ import annotations

from kubelite.api.crd.strategy import _path_of


def test_pruned_paths_from_paths_or_warnings() -> None:
    assert _path_of("spec.extra") == "spec.extra"
    assert _path_of('unknown field "spec.items[0].x"') == "spec.items[0].x"
