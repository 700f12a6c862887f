"""`kubelite up --cluster-init`: the all-in-one server and agent on an embedded etcd member,
which a `kubelite server --server` on another machine joins; the node of `up` is Ready through
the joined server, and the two members vote."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cluster import Server
from tests.helpers.server_machines import API_PORT, server_machines
from tests.helpers.wait import until

pytestmark = pytest.mark.root


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_up_cluster_init_is_joined_by_a_server(tmp_path: Path) -> None:
    with server_machines(tmp_path / "lan", 2) as sm:
        m0, m1 = sm.machines
        data_dir = m0.data_dir / "up"
        argv = [*m0.nsenter, sys.executable, "-m", "kubelite.cli.main", "up", "--data-dir", str(data_dir),
                "--listen", f"{m0.address}:{API_PORT}", "--cluster-id", m0.cluster_id,
                "--node-name", m0.node_name, "--node-ip", m0.address]
        m0.data_dir.mkdir(parents=True)
        log_path = m0.data_dir / "up.log"
        with open(log_path, "ab") as log:
            process = subprocess.Popen([*argv, "--cluster-init"], stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        up = Server(data_dir / "server", API_PORT, process, log_path, m0.address)
        try:
            until(lambda: process.poll() is not None or (up.kubeconfig.exists() and listening(m0.address, API_PORT)),
                  timeout=120, what="kubelite up serving")
            assert process.poll() is None, up.log_tail()
            assert (data_dir / "server" / "db" / "etcd" / "member").is_dir()  # an etcd member, not SQLite
            joined = sm.join(m1, up)
            members = sm.members(m0)
            assert len(members) == 2 and not any(x.get("isLearner") for x in members)
            until(lambda: f"{m0.node_name} " in joined.kubectl("get", "nodes", "--no-headers").stdout
                  and " Ready " in joined.kubectl("get", "node", m0.node_name, "--no-headers").stdout,
                  timeout=60, what="the node of kubelite up Ready through the joined server")
        finally:
            up.stop(signal.SIGTERM, timeout=30)
            subprocess.run([*argv, "--cleanup"], capture_output=True, timeout=60)
