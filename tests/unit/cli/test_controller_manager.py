"""`kubelite controller-manager`: the flags `kubelite server` passes give its settings back."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelite.cli.controller_manager import settings_from_args
from kubelite.cli.main import build_parser
from kubelite.controllers.settings import ControllerSettings


@pytest.mark.parametrize("settings", [
    ControllerSettings(),
    ControllerSettings(cluster_cidr="10.0.0.0/8", scheduler=False, node_monitor_grace_period=7.5,
                       node_monitor_period=0.5, pod_eviction_timeout=12.0, terminated_pod_gc_threshold=0,
                       root_ca_file="/x/ca.crt"),
    ControllerSettings(leader_elect=False),
    ControllerSettings(leader_elect_lease_duration=30.0, leader_elect_renew_deadline=20.5,
                       leader_elect_retry_period=4.0),
])
def test_settings_survive_the_trip_through_the_command_line(settings: ControllerSettings) -> None:
    args = build_parser().parse_args(["controller-manager", *settings.as_flags()])
    assert settings_from_args(args) == settings


def test_the_server_takes_the_same_controller_flags() -> None:
    args = build_parser().parse_args(["server", "--disable-scheduler", "--pod-eviction-timeout", "3"])
    assert args.disable_scheduler and args.pod_eviction_timeout == 3.0


def test_the_server_refuses_leader_election_timings_client_go_refuses(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kubelite.cli.main import main

    assert main(["server", "--data-dir", str(tmp_path), "--leader-elect-renew-deadline", "20s"]) == 2
    assert "leaseDuration must be greater than renewDeadline" in capsys.readouterr().err
