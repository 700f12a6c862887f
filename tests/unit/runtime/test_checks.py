"""Preflight checks for the node agent."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

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


def test_not_root_and_no_runc_each_say_what_to_do() -> None:
    problems = preflight("runc", geteuid=lambda: 1000,
                         which=lambda name: None if name == "runc" else f"/usr/bin/{name}")
    assert problems == [
        "the node agent must run as root (run it with sudo or as root)",
        "runc not found: install it (apt-get install runc)",
    ]


async def test_the_agent_refuses_to_start_with_the_problems(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from kubelite.cli import agent

    def no_root_no_runc(runtime: str) -> list[str]:
        return preflight(runtime, geteuid=lambda: 1000, which=lambda name: None)

    monkeypatch.setattr(agent, "preflight_problems", no_root_no_runc)
    parser = argparse.ArgumentParser()
    agent.add_parser(parser.add_subparsers(dest="command"))
    token = tmp_path / "token"
    token.write_text("t")
    args = parser.parse_args(["agent", "--server", "https://127.0.0.1:1", "--token-file",
                              str(token), "--data-dir", str(tmp_path / "data")])
    assert await agent.run(args) == 1
    err = capsys.readouterr().err
    assert "kubelite agent cannot run containers on this machine:" in err
    assert "  - the node agent must run as root (run it with sudo or as root)" in err
    assert "  - runc not found: install it (apt-get install runc)" in err
    assert not (tmp_path / "data" / "agent").exists()  # nothing was started
