"""`kubelite server` flags whose defaults users rely on."""

from __future__ import annotations

from kubelite.cli.main import build_parser


def test_component_identities_are_on_unless_turned_off() -> None:
    parser = build_parser()
    assert parser.parse_args(["server"]).component_identities is True
    assert parser.parse_args(["server", "--no-component-identities"]).component_identities is False
