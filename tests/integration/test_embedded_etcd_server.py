"""`kubelite server --cluster-init` on one machine: its etcd child is restarted when it dies,
the schedule takes snapshots, `--cluster-reset` keeps the data in a new one-member cluster, `kubelite etcd-snapshot` saves,
lists and prunes, and the flags that cannot go together are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers.cluster import free_port, running_server
from tests.helpers.wait import until


def _etcd_children(server_pid: int) -> list[int]:
    children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    return [int(c) for c in children if Path(f"/proc/{c}/comm").read_text().strip() == "etcd"]


def _kubelite(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubelite.cli.main", *args], capture_output=True,
                          text=True, timeout=120)


def test_one_server_on_its_own_etcd(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ports = ["--etcd-client-port", str(free_port()), "--etcd-peer-port", str(free_port())]
    with running_server(data, "--cluster-init", *ports, "--etcd-snapshot-schedule-cron", "* * * * *") as server:
        server.kubectl("create", "configmap", "kept", "--from-literal=a=b")
        [etcd] = _etcd_children(server.process.pid)
        os.kill(etcd, signal.SIGKILL)
        until(lambda: [p for p in _etcd_children(server.process.pid) if p != etcd], timeout=30,
              what="a new etcd child")
        until(lambda: server.kubectl("get", "configmap", "kept", check=False).returncode == 0, timeout=30,
              what="the API serving again")
        for _ in range(3):
            saved = _kubelite("etcd-snapshot", "--data-dir", str(data), "save", "--name", "mine")
            assert saved.returncode == 0, saved.stderr
        listed = _kubelite("etcd-snapshot", "--data-dir", str(data), "ls").stdout.splitlines()
        assert listed[0].split() == ["Name", "Location", "Size", "Created"] and len(listed) >= 2
        pruned = _kubelite("etcd-snapshot", "prune", "--data-dir", str(data), "--name", "mine",
                           "--snapshot-retention", "1")  # flags after the action too, as k3s takes them
        assert pruned.returncode == 0
        assert len(list((data / "db" / "snapshots").glob("mine-*"))) == 1
        until(lambda: list((data / "db" / "snapshots").glob("etcd-snapshot-*")), timeout=90,
              what="a scheduled snapshot (every minute)")
        running = _etcd_children(server.process.pid)
    assert running and not any(Path(f"/proc/{pid}").exists() for pid in running)  # stopped with the server

    reset = _kubelite("server", "--data-dir", str(data), "--listen", f"127.0.0.1:{free_port()}",
                      "--cluster-reset", *ports)
    assert reset.returncode == 0, reset.stderr
    assert "restart without --cluster-reset" in reset.stderr
    with running_server(data, *ports) as server:  # the member is on disk: embedded again, data kept
        out = json.loads(server.kubectl("get", "configmap", "kept", "-o", "json").stdout)
        assert out["data"] == {"a": "b"}


def test_flags_that_cannot_go_together_are_refused(tmp_path: Path) -> None:
    base = ["server", "--data-dir", str(tmp_path / "d"), "--listen", f"127.0.0.1:{free_port()}"]
    for extra, words in (
        (["--cluster-init", "--datastore-endpoint", "etcd://127.0.0.1:1"], "--datastore-endpoint cannot"),
        (["--server", "https://127.0.0.1:1"], "--server needs --token"),
        (["--cluster-init", "--server", "https://127.0.0.1:1", "--token", "x"], "cannot be combined"),
        (["--cluster-init", "--etcd-snapshot-schedule-cron", "0 0 L * *"], "--etcd-snapshot-schedule-cron"),
    ):
        out = _kubelite(*base, *extra)
        assert out.returncode == 2 and words in out.stderr, out.stderr
    out = _kubelite("etcd-snapshot", "--data-dir", str(tmp_path / "none"), "save")
    assert out.returncode == 1 and "--cluster-init" in out.stderr
