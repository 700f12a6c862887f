"""`kubelite sim-nodes` flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from kubelite.cli import sim_nodes


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kubelite")
    sim_nodes.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["sim-nodes", *argv])


def test_defaults() -> None:
    args = parse("--count", "5")
    assert (args.count, args.cpu, args.memory, args.pods) == (5, "32", "256Gi", 110)
    assert (args.zones, args.name_prefix, args.kubeconfig, args.cleanup) == (0, "sim-", None, False)


def test_labels_and_options() -> None:
    args = parse("--count", "2", "--label", "a=b", "--label", "tier=", "--zones", "3",
                 "--name-prefix", "fake-", "--cpu", "4", "--memory", "8Gi", "--pods", "20",
                 "--cleanup")
    assert dict(args.label) == {"a": "b", "tier": ""}
    assert (args.zones, args.name_prefix, args.cpu, args.memory, args.pods) == (
        3, "fake-", "4", "8Gi", 20)
    assert args.cleanup


@pytest.mark.parametrize("argv", [["--count", "0"], ["--count", "x"], [],
                                  ["--count", "1", "--label", "novalue"]])
def test_bad_flags_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse(*argv)
    assert "error" in capsys.readouterr().err


async def test_missing_kubeconfig_is_an_error(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("--count", "1", "--kubeconfig", str(tmp_path / "nope.yaml"))
    assert await sim_nodes.run(args) == 1
    assert "cannot read kubeconfig" in capsys.readouterr().err
