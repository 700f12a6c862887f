"""`kubelite server` stops cleanly on SIGTERM; `kubelite kubeconfig` prints the admin kubeconfig."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers.cluster import start_server


def test_sigterm_stops_cleanly_and_kubeconfig_prints_the_config(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "kubelite.cli.main", "kubeconfig", "--data-dir", str(data)],
            capture_output=True, text=True, check=True,
        ).stdout
        config = yaml.safe_load(out)
        assert config["clusters"][0]["cluster"]["server"] == server.url
        assert set(config["users"][0]["user"]) == {"client-certificate-data", "client-key-data"}
        assert "certificate-authority-data" in config["clusters"][0]["cluster"]
        assert server.kubectl("get", "ns", "default", "-o", "name").stdout.strip() == "namespace/default"
    finally:
        code = server.stop(signal.SIGTERM)
    assert code == 0, server.log_tail()


def test_kubeconfig_of_a_missing_data_dir_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kubelite.cli.main", "kubeconfig", "--data-dir", str(tmp_path / "nope")],
        capture_output=True, text=True,
    )
    assert result.returncode == 1
    assert "kubelite server --data-dir" in result.stderr
