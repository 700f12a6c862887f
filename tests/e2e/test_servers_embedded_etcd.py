"""Three `kubelite server`s on three machines sharing one embedded etcd cluster, k3s' way: the
first with `--cluster-init`, two joining with `--server` and the token. Each serves the same
API (real kubectl against each, an agent joined through one seen Ready through all); `etcdctl member list` shows three voting members; with one
member stopped the others keep taking writes, and the stopped one restarts and catches up; a
server killed with SIGKILL leaves no etcd behind; a snapshot saved with `kubelite
etcd-snapshot save` restores (`--cluster-reset --cluster-reset-restore-path`) a cluster with
the objects it held, which a wiped server joins again."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cluster import Server
from tests.helpers.server_machines import ServerMachines, server_machines
from tests.helpers.wait import until


@pytest.fixture(scope="module")
def sm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerMachines]:
    with server_machines(tmp_path_factory.mktemp("servers"), 3) as sm:
        first = sm.init(sm.machines[0])
        sm.join(sm.machines[1], first)
        sm.join(sm.machines[2], first)
        yield sm


def _server(sm: ServerMachines, i: int) -> Server:
    return sm.servers[sm.machines[i].index]


def _configmap(name: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                       "data": {"k": name}})


def _configmaps(server: Server) -> set[str]:
    out = server.kubectl("get", "configmaps", "-n", "default", "-o", "json", check=False)
    if out.returncode != 0:
        return set()
    return {item["metadata"]["name"] for item in json.loads(out.stdout)["items"]}


def _node_status(server: Server, node: str) -> str:
    """The STATUS column of `kubectl get node` ("" if it fails)."""
    columns = server.kubectl("get", "node", node, "--no-headers", check=False).stdout.split()
    return columns[1] if len(columns) > 1 else ""


def _kubelite(sm: ServerMachines, i: int, *args: str) -> str:
    out = sm.machines[i].run(sys.executable, "-m", "kubelite.cli.main", *args, timeout=120)
    assert out.returncode == 0, f"kubelite {' '.join(args)}: {out.stdout}\n{out.stderr}"
    return out.stdout


def test_three_servers_form_one_etcd_cluster_and_serve_one_api(sm: ServerMachines) -> None:
    for m in sm.machines:
        members = sm.members(m)
        assert len(members) == 3, members
        assert not any(x.get("isLearner") for x in members)
        assert sorted(u for x in members for u in x["peerURLs"]) == \
            sorted(f"https://{n.address}:2380" for n in sm.machines)  # peers on the LAN, with TLS
        assert all(x["clientURLs"] == ["http://127.0.0.1:2379"] for x in members)  # clients: loopback
    # the joining servers took the cluster's CA: one token, one kubeconfig CA
    ca = (_server(sm, 0).data_dir / "tls" / "ca.crt").read_bytes()
    assert all((_server(sm, i).data_dir / "tls" / "ca.crt").read_bytes() == ca for i in (1, 2))
    _server(sm, 0).kubectl("apply", "-f", "-", input=_configmap("made-on-first"))
    # an agent joins through a server that joined: its certificate is good on every server
    node = sm.machines[1].node_name
    agent = sm.agent(sm.machines[1], _server(sm, 1))
    try:
        for i in range(3):
            server = _server(sm, i)
            until(lambda s=server: _node_status(s, node) == "Ready", timeout=60,
                  what=f"node {node} Ready through server {i}")
            assert "made-on-first" in _configmaps(server)
    finally:
        agent.stop()
    # the shared keys: a Secret encrypted at rest by one server reads back through another, and a
    # service account token one server signed authenticates on another
    _server(sm, 0).kubectl("create", "secret", "generic", "shared", "--from-literal=k=v")
    encoded = _server(sm, 2).kubectl("get", "secret", "shared", "-o", "jsonpath={.data.k}").stdout
    assert base64.b64decode(encoded) == b"v"
    token = _server(sm, 0).kubectl("create", "token", "default").stdout.strip()
    whoami = _server(sm, 2).kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}",
                                    kubeconfig=_server(sm, 2).token_kubeconfig(token)).stdout
    assert whoami == "system:serviceaccount:default:default"
    # one scheduler and one set of controllers lead, whichever server is asked
    for lease in ("kube-scheduler", "kube-controller-manager"):
        holders = {_server(sm, i).kubectl("get", "lease", lease, "-n", "kube-system", "-o",
                                          "jsonpath={.spec.holderIdentity}").stdout for i in range(3)}
        assert len(holders) == 1 and all(holders), (lease, holders)
    # a peer needs a certificate from the cluster's peer CA
    peer = f"https://{sm.machines[1].address}:2380/members"
    tls = _server(sm, 0).data_dir / "tls" / "etcd"
    refused = sm.machines[0].run("curl", "-s", "--http1.1", "--max-time", "5", "--cacert", str(tls / "peer-ca.crt"), peer)
    assert refused.returncode != 0
    accepted = sm.machines[0].run("curl", "-s", "--http1.1", "--max-time", "5", "--cacert", str(tls / "peer-ca.crt"),
                                  "--cert", str(tls / "peer-server-client.crt"),
                                  "--key", str(tls / "peer-server-client.key"), peer)
    assert accepted.returncode == 0 and "peerURLs" in accepted.stdout


def _leader_index(sm: ServerMachines) -> int:
    out = sm.etcdctl(sm.machines[0], "-w", "json", "endpoint", "status")
    status = json.loads(out.stdout)[0]["Status"]
    leader = status["leader"]
    for i, m in enumerate(sm.machines):
        me = json.loads(sm.etcdctl(m, "-w", "json", "endpoint", "status").stdout)[0]["Status"]["header"]["member_id"]
        if me == leader:
            return i
    raise AssertionError("no member is the leader")


def test_writes_go_on_while_a_member_is_down_and_it_catches_up(sm: ServerMachines) -> None:
    down = next(i for i in range(3) if i != _leader_index(sm))
    up = [i for i in range(3) if i != down]
    pid = sm.etcd_pid(sm.machines[down])
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # down for certain: it answers nothing until it is killed
    names = {f"while-down-{n}" for n in range(10)}
    try:
        for n, name in enumerate(sorted(names)):
            _server(sm, up[n % 2]).kubectl("apply", "-f", "-", input=_configmap(name))
    finally:
        os.kill(pid, signal.SIGKILL)  # a dead etcd: its server starts it again
    until(lambda: sm.etcd_pid(sm.machines[down]) not in (None, pid), timeout=30, what="the etcd child restarted")
    until(lambda: names <= _configmaps(_server(sm, down)), timeout=60,
          what="the restarted member catching up")
    assert len(sm.members(sm.machines[down])) == 3


def test_a_server_killed_leaves_no_etcd_and_starts_again(sm: ServerMachines) -> None:
    m = sm.machines[2]
    pid = sm.etcd_pid(m)
    assert pid is not None
    sm.stop(m, signal.SIGKILL)
    until(lambda: not Path(f"/proc/{pid}").exists(), timeout=10, what="etcd dying with its server")
    server = sm.start(m)  # its member is on disk: no flag needed to use it again
    assert "made-on-first" in _configmaps(server)


def test_a_snapshot_restores_a_cluster_with_its_objects(sm: ServerMachines, tmp_path: Path) -> None:
    first = _server(sm, 0)
    first.kubectl("apply", "-f", "-", input=_configmap("in-snapshot"))
    saved = _kubelite(sm, 0, "etcd-snapshot", "--data-dir", str(first.data_dir), "save")
    name = saved.split()[1]  # "Snapshot NAME saved."
    assert name.startswith("on-demand-") and name in _kubelite(sm, 0, "etcd-snapshot", "--data-dir",
                                                               str(first.data_dir), "ls")
    snapshot = tmp_path / "snap.db"
    shutil.copy(first.data_dir / "db" / "snapshots" / name, snapshot)
    first.kubectl("apply", "-f", "-", input=_configmap("after-snapshot"))
    first.kubectl("delete", "configmap", "made-on-first")
    for m in sm.machines:
        sm.stop(m)

    m0 = sm.machines[0]
    _kubelite(sm, 0, "server", "--data-dir", str(first.data_dir), "--listen", f"{m0.address}:6443",
              "--cluster-reset", f"--cluster-reset-restore-path={snapshot}")
    restored = sm.start(m0)
    names = _configmaps(restored)
    assert {"made-on-first", "in-snapshot"} <= names and "after-snapshot" not in names
    assert len(sm.members(m0)) == 1
    assert list((first.data_dir / "db").glob("etcd-old-*"))  # the old data kept aside

    # another server joins the restored cluster again once its old data is gone (k3s' way)
    m1 = sm.machines[1]
    shutil.rmtree(sm.data_dir(m1) / "db")
    rejoined = sm.join(m1, restored)
    assert "in-snapshot" in _configmaps(rejoined)
    assert len(sm.members(m0)) == 2


def _node(name: str, address: str) -> str:
    """The Node an agent on that machine registers (its InternalIP is the machine's address)."""
    return json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                       "status": {"addresses": [{"type": "InternalIP", "address": address}]}})


def test_deleting_a_servers_node_removes_its_member(sm: ServerMachines) -> None:
    m0, m1 = sm.machines[0], sm.machines[1]
    first = _server(sm, 0)
    assert len(sm.members(m0)) == 2  # the restored server and the one that joined it again
    # machine 1's Node is the one its agent registered (in the snapshot); machine 0 has no agent
    internal = first.kubectl("get", "node", m1.node_name, "-o",
                             "jsonpath={.status.addresses[?(@.type=='InternalIP')].address}").stdout
    assert internal == m1.address
    first.kubectl("create", "-f", "-", input=_node(m0.node_name, m0.address))
    first.kubectl("delete", "node", m1.node_name)
    until(lambda: len(sm.members(m0)) == 1, timeout=30, what="the deleted node's etcd member removed")
    # the removed member's etcd exits (code 0) and is left stopped rather than restarted in a loop
    until(lambda: "etcd exited with code 0; not restarting it" in _server(sm, 1).log_tail(400), timeout=30,
          what="the removed member's etcd left stopped")
    assert sm.etcd_pid(m1) is None
    assert sm.members(m0)[0]["peerURLs"] == [f"https://{m0.address}:2380"]
    first.kubectl("delete", "node", m0.node_name)  # the last member stays
    first.kubectl("apply", "-f", "-", input=_configmap("after-removal"))
    assert "after-removal" in _configmaps(first) and len(sm.members(m0)) == 1
