"""Two API servers on one external etcd and an agent in a machine namespace: the agent learns
both servers from the `kubernetes` Endpoints, and when the server it uses is killed (kill -9)
it carries on through the other: the node stays Ready (its Lease is still renewed, past the
grace period of the surviving server's node lifecycle controller), a new pod starts on it,
`kubectl logs` works through the surviving server, and the agent restarted while its
`--server` is still down joins through the other. `kubelite kubeconfig --server` points
kubectl at the surviving server's address. A server that goes silent instead (SIGSTOP: its
connections stay open, new ones are accepted by the kernel, nothing answers) is left too,
after failed health checks or a TLS handshake that does not finish in time, whichever the
agent meets first.

Both servers run a controller-manager; one leads (leader election). The node's readiness is
checked once the surviving server's controllers lead, so that its node lifecycle controller
is the one watching the heartbeats.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cluster import Server
from tests.helpers.etcd import start_etcd
from tests.helpers.leaders import holders, identity_of
from tests.helpers.machines import Machine, MachineCluster, machine_cluster
from tests.helpers.node import is_ready
from tests.helpers.wait import until

pytestmark = pytest.mark.root

GRACE = 5  # the node lifecycle controller's grace period: heartbeats missing this long -> Unknown
SERVER_FLAGS = ("--node-monitor-grace-period", str(GRACE), "--node-monitor-period", "1")
AGENT_FLAGS = ("--node-lease-duration-seconds", "4")  # renewed every second
CONTROLLERS = "kube-controller-manager"  # the controllers' leader election Lease


def get(server: Server, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(server.kubectl("get", *args, "-o", "json").stdout)
    return obj


def renew_time(server: Server, m: Machine) -> datetime:
    lease = get(server, "lease", m.node_name, "-n", "kube-node-lease")
    return datetime.fromisoformat(lease["spec"]["renewTime"].replace("Z", "+00:00"))


def ready_status(server: Server, m: Machine) -> str:
    node = get(server, "node", m.node_name)
    return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")


def pod(name: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "c", "image": "busybox",
            "command": ["sh", "-c", f"echo hello from {name}; sleep 3600"]}]}})


def running(server: Server, name: str) -> bool:
    result = server.kubectl("get", "pod", name, "-o", "json", check=False)
    return result.returncode == 0 and is_ready(json.loads(result.stdout))


def endpoint_ips(server: Server) -> set[str]:
    endpoints = get(server, "endpoints", "kubernetes", "-n", "default")
    return {a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []}


def known_servers(m: Machine) -> list[str]:
    path = m.data_dir / "agent" / "api-servers.json"
    return list(json.loads(path.read_text())["serverAddresses"]) if path.exists() else []


@contextmanager
def two_servers(tmp_path: Path) -> Iterator[tuple[MachineCluster, Server, Server, Machine]]:
    """Two servers on one etcd and one machine whose agent joined the first and knows both."""
    (tmp_path / "etcd").mkdir()
    endpoint, stop_etcd = start_etcd(str(tmp_path / "etcd"))
    try:
        datastore = ("--datastore-endpoint", "etcd://" + endpoint.split("://", 1)[1])
        with machine_cluster(tmp_path / "lan", 1, *datastore, *SERVER_FLAGS) as mc:
            first, second = mc.server, mc.add_server()
            m = mc.machines[0]
            mc.join(m, *AGENT_FLAGS)
            until(lambda: endpoint_ips(second) == {first.host, second.host}, 30,
                  "both servers in the kubernetes endpoints")
            until(lambda: second.url in known_servers(m), 30, "the agent knowing the second server")
            yield mc, first, second, m
    finally:
        stop_etcd()


def renewed_for(server: Server, m: Machine, seconds: float) -> None:
    """Wait until the node's Lease, read through `server`, was renewed `seconds` after now."""
    since = renew_time(server, m)
    until(lambda: (renew_time(server, m) - since).total_seconds() > seconds, 60,
          "node lease renewals through the surviving server")


def test_the_agent_fails_over_to_the_surviving_server(tmp_path: Path) -> None:
    with two_servers(tmp_path) as (mc, first, second, m):
        first.kubectl("apply", "-f", "-", input=pod("before"))
        until(lambda: running(first, "before"), 90, "pod before running")

        first.stop(signal.SIGKILL)  # no goodbye: its address stays in the endpoints a while
        until(lambda: identity_of(second) and holders(second).get(CONTROLLERS) == identity_of(second),
              60, "the surviving server's controllers leading")
        # heartbeats go on through the surviving server past the grace period of its node
        # lifecycle controller, which therefore still sees the node Ready
        renewed_for(second, m, 2 * GRACE)
        assert ready_status(second, m) == "True"
        assert f"using {second.url}" in m.agent.log_tail(400)  # type: ignore[union-attr]

        second.kubectl("apply", "-f", "-", input=pod("after"))
        until(lambda: running(second, "after"), 90, "a new pod running after the failover")
        for name in ("before", "after"):
            assert f"hello from {name}" in second.kubectl("logs", name).stdout

        # kubectl at a fixed address (here the surviving server's) with `kubelite kubeconfig --server`
        config = subprocess.run(
            [sys.executable, "-m", "kubelite.cli.main", "kubeconfig", "--data-dir",
             str(first.data_dir), "--server", second.url],
            capture_output=True, text=True, check=True, timeout=60).stdout
        (tmp_path / "fixed.yaml").write_text(config)
        nodes = first.kubectl("get", "nodes", "-o", "name", kubeconfig=tmp_path / "fixed.yaml").stdout
        assert f"node/{m.node_name}" in nodes

        # an agent restarted while its --server is still down joins through the other
        mc.restart_agent(m)
        until(lambda: running(second, "after"), 30, "the pod adopted after the restart")
        assert "trying " + second.url in m.agent.log_tail(400)  # type: ignore[union-attr]


def test_a_server_gone_silent_is_left(tmp_path: Path) -> None:
    with two_servers(tmp_path) as (_mc, first, second, m):
        first.process.send_signal(signal.SIGSTOP)  # connects still succeed; nothing answers
        try:
            # the lease renewals stall until the agent gives up on `first` (up to 16 s: longer
            # than this test's short grace period, so the node may be Unknown meanwhile), then
            # go on through `second`
            renewed_for(second, m, 2 * GRACE)
            assert f"API server {first.url} failed; using {second.url}" in m.agent.log_tail(400)  # type: ignore[union-attr]
        finally:
            first.process.send_signal(signal.SIGCONT)
