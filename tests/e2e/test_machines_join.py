"""`kubelite agent --server ... --token-file ...` on another machine (a network namespace on a
test LAN): it joins with only the token, gets a credential of its own (system:node:NAME), goes
Ready with its default-route address as InternalIP and runs a pod; a wrong token and a wrong
CA hash are refused in k3s' words."""

from __future__ import annotations

import ipaddress
import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubelite import jointoken
from tests.helpers.machines import MachineCluster, machine_cluster
from tests.helpers.wait import until


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MachineCluster]:
    with machine_cluster(tmp_path_factory.mktemp("machines"), 3) as mc:
        yield mc


def _node(mc: MachineCluster, name: str) -> dict[str, object]:
    out: dict[str, object] = json.loads(mc.server.kubectl("get", "node", name, "-o", "json").stdout)
    return out


def test_agent_joins_with_only_the_token_and_runs_a_pod(lan: MachineCluster) -> None:
    machine = lan.machines[0]
    lan.join(machine)  # no --ca-file, no --node-ip: the token pins the CA
    node = _node(lan, machine.node_name)
    status: dict = node["status"]  # type: ignore[assignment]
    ready = [c for c in status["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True"
    internal = [a["address"] for a in status["addresses"] if a["type"] == "InternalIP"]
    assert internal == [machine.address]  # the default route's interface
    agent_dir = machine.data_dir / "agent"
    for name in ("client-kubelet.crt", "client-kubelet.key", "server-ca.crt"):
        assert stat.S_IMODE((agent_dir / name).stat().st_mode) == 0o600
    assert (agent_dir / "server-ca.crt").read_bytes() == (lan.server.data_dir / "tls" / "ca.crt").read_bytes()

    gateway = str(next(ipaddress.ip_network(node["spec"]["podCIDR"]).hosts()))  # type: ignore[index]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "joined"},
           "spec": {"nodeName": machine.node_name, "containers": [{
               "name": "c", "image": "busybox",
               "command": ["sh", "-c", f"nc -w 5 {gateway} 10250 </dev/null && echo reached-node; "
                                       "sleep 3600"]}]}}
    lan.server.kubectl("apply", "-f", "-", input=json.dumps(pod))

    def logs() -> str:
        return lan.server.kubectl("logs", "joined", check=False).stdout

    until(lambda: "reached-node" in logs(), timeout=90, what="the pod reaching its node")
    exec_out = lan.server.kubectl("exec", "joined", "--", "cat", "/etc/hostname").stdout
    assert exec_out.strip() == "joined"  # the API server reaches the kubelet on the machine


def test_the_node_credential_is_its_own_identity(lan: MachineCluster, tmp_path: Path) -> None:
    machine = lan.machines[0]
    if machine.agent is None:
        lan.join(machine)
    agent_dir = machine.data_dir / "agent"
    kubeconfig = tmp_path / "node.yaml"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "node",
        "clusters": [{"name": "c", "cluster": {"server": lan.server_url,
                                               "certificate-authority": str(agent_dir / "server-ca.crt")}}],
        "users": [{"name": "node", "user": {"client-certificate": str(agent_dir / "client-kubelet.crt"),
                                            "client-key": str(agent_dir / "client-kubelet.key")}}],
        "contexts": [{"name": "node", "context": {"cluster": "c", "user": "node"}}],
    }))
    for version in ("1.27", "1.33"):
        out = lan.server.kubectl("auth", "whoami", "-o", "json", f"--kubeconfig={kubeconfig}",
                                 version=version).stdout
        info = json.loads(out)["status"]["userInfo"]
        assert info["username"] == f"system:node:{machine.node_name}"
        assert "system:nodes" in info["groups"]
    assert f"signed a client certificate for system:node:{machine.node_name}" in lan.server.log_path.read_text()


def test_a_wrong_token_is_refused(lan: MachineCluster) -> None:
    machine = lan.machines[1]
    good = jointoken.parse(lan.token_file.read_text())
    wrong = str(jointoken.JoinToken(good.ca_hash, good.username, "not-the-secret"))
    result = lan.try_join(machine, "--token", wrong)
    assert result.returncode != 0
    assert "token is not valid for this server" in result.stderr, result.stderr
    assert lan.server.kubectl("get", "node", machine.node_name, check=False).returncode != 0


def test_a_wrong_ca_hash_is_refused_before_sending_the_secret(lan: MachineCluster) -> None:
    machine = lan.machines[2]
    good = jointoken.parse(lan.token_file.read_text())
    other_ca = jointoken.ca_hash(b"another cluster's CA")
    result = lan.try_join(machine, "--token", str(jointoken.JoinToken(other_ca, good.username, good.secret)))
    assert result.returncode != 0
    assert (f"token CA hash does not match the Cluster CA certificate hash: {other_ca} != {good.ca_hash}"
            in result.stderr), result.stderr
    assert "signed a client certificate for system:node:" + machine.node_name not in lan.server.log_path.read_text()


def test_a_rotated_token_joins_and_the_old_one_is_refused(lan: MachineCluster) -> None:
    old = lan.token_file.read_text().strip()
    rotated = subprocess.run([sys.executable, "-m", "kubelite.cli.main", "token", "rotate",
                              "--data-dir", str(lan.server.data_dir)], capture_output=True, text=True, check=True)
    new = rotated.stdout.strip()
    assert new != old and new == lan.token_file.read_text().strip()
    machine = lan.machines[1]
    refused = lan.try_join(machine, "--token", old)
    assert "token is not valid for this server" in refused.stderr
    lan.join(machine)  # the helper joins with the token file: the new token
    assert _node(lan, machine.node_name)["metadata"]["name"] == machine.node_name  # type: ignore[index]
