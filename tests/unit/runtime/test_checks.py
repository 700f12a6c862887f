"""Preflight checks for the node agent."""

from __future__ import annotations

from kubelite.runtime.checks import preflight


def test_this_machine_passes_with_runc() -> None:
    assert preflight("runc") == []


def test_missing_runtime_says_how_to_install_it() -> None:
    assert preflight("no-such-runtime") == [
        "no-such-runtime not found: install it (apt-get install no-such-runtime)"
    ]


def test_missing_cni_plugins_are_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    problems = preflight("runc", cni_bin_dir=str(tmp_path))
    assert len(problems) == 1
    assert "bridge, host-local, portmap, loopback" in problems[0]
    assert "apt-get install containernetworking-plugins" in problems[0]
