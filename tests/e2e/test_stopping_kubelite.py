"""Stopping kubelite as a user does: Ctrl-C in the terminal running `kubelite up`, SIGTERM to
`kubelite server` and `kubelite agent`. Each stops within its grace with its ports closed and
every process it started gone, while the pods' containers keep running (as across a kubelet
restart) and are adopted, not restarted, by the next start. A second Ctrl-C exits at once."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.cluster import free_port, kubectl_binary, start_server
from tests.helpers.node import NodeCluster, is_ready, running_node, unused_subnet
from tests.helpers.processes import marked_env, marked_processes, new_mark, port_open
from tests.helpers.registry import (
    Registry,
    build_busybox_image,
    mirror_config,
    push_image,
    start_registry,
)
from tests.helpers.tty import Terminal
from tests.helpers.wait import until

GRACE = 15.0  # generous: kubelite forces its own exit after 10 s
AT_ONCE = 5.0  # a second Ctrl-C: no stop work at all, only the interpreter's exit
CTRL_C = b"\x03"
READY = r"export KUBECONFIG="

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "keeps-running"},
       "spec": {"terminationGracePeriodSeconds": 1, "containers": [
           {"name": "c", "image": "busybox:latest", "command": ["sleep", "3600"]}]}}


@dataclass
class Up:
    """`kubelite up` with its own data dir, ports, cluster id and address ranges."""

    root: Path
    registry: Registry
    mark: str = field(default_factory=new_mark)
    cluster_id: str = field(default_factory=lambda: secrets.token_hex(3))
    port: int = field(default_factory=free_port)
    kubelet_port: int = field(default_factory=free_port)
    pod_cidr: str = field(default_factory=lambda: unused_subnet(200, 250))
    service_cidr: str = field(default_factory=lambda: unused_subnet(160, 190))
    terminals: list[Terminal] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def run_dir(self) -> Path:
        return Path(f"/run/kubelite-{self.cluster_id}")

    def argv(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "kubelite.cli.main", "up", "--data-dir", str(self.data_dir),
                "--listen", f"127.0.0.1:{self.port}", "--cluster-id", self.cluster_id,
                "--kubelet-port", str(self.kubelet_port), "--node-name", f"node-{self.cluster_id}",
                "--node-ip", "127.0.0.1", "--cluster-cidr", self.pod_cidr,
                "--service-cidr", self.service_cidr,
                "--registries", str(self.root / "registries.yaml"),
                "--ingress-http-port", "0", "--ingress-https-port", "0", *extra]

    def start(self) -> Terminal:
        term = Terminal(self.argv(), env=marked_env(self.mark))
        self.terminals.append(term)
        term.wait_for(READY, timeout=90)
        return term

    def kubectl_argv(self, *args: str) -> list[str]:
        return [kubectl_binary("1.33"), f"--kubeconfig={self.data_dir / 'server' / 'kubeconfig.yaml'}",
                f"--cache-dir={self.root / 'kubectl-cache'}", *args]

    def kubectl(self, *args: str, input: str | None = None) -> str:
        result = subprocess.run(self.kubectl_argv(*args), input=input, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def ready_pod(self) -> dict[str, Any] | None:
        pod: dict[str, Any] = json.loads(self.kubectl("get", "pod", "keeps-running", "-o", "json"))
        return pod if is_ready(pod) else None

    def wait_ready(self, what: str) -> dict[str, Any]:
        pod = until(self.ready_pod, 60, what)
        assert pod is not None
        return pod

    def cleanup(self) -> None:
        for term in self.terminals:
            term.close()
        subprocess.run(self.argv("--cleanup"), capture_output=True, timeout=120)
        for pid in marked_processes(self.mark, keep_pods=False):  # only after a failure
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    registry = start_registry(tmp_path)
    cluster = Up(tmp_path, registry)
    try:
        push_image(build_busybox_image(tmp_path / "image"), registry.url, "library/busybox", "latest")
        (tmp_path / "registries.yaml").write_text(yaml.safe_dump(mirror_config(registry)))
        yield cluster
    finally:
        cluster.cleanup()
        registry.stop()


def running_container(run_dir: Path, pod: dict[str, Any]) -> tuple[str, int]:
    """The pod's container id and the pid runc reports for it; fails unless it is running."""
    cid = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    state = json.loads(subprocess.run(
        ["runc", "--root", str(run_dir / "runtime" / "runc"), "state", cid],
        capture_output=True, text=True, check=True).stdout)
    assert state["status"] == "running", state
    os.kill(state["pid"], 0)  # the process itself is alive
    return cid, int(state["pid"])


def stopped_within(stop: Callable[[], object], wait: Callable[[float], int | None],
                   limit: float) -> tuple[int | None, float]:
    began = time.monotonic()
    stop()
    code = wait(limit)
    return code, time.monotonic() - began


def test_ctrl_c_stops_up_and_the_next_up_adopts_the_running_pod(up: Up) -> None:
    term = up.start()
    up.kubectl("apply", "-f", "-", input=yaml.safe_dump(POD))
    before = up.wait_ready("the pod Running and Ready")
    container = running_container(up.run_dir, before)
    # open streams must not hold the stop: a watch, a log follow, an exec through the kubelet
    streams = [subprocess.Popen(up.kubectl_argv(*args), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
               for args in (("get", "pods", "-w"), ("logs", "-f", "keeps-running"),
                            ("exec", "keeps-running", "--", "sleep", "3600"))]
    try:
        until(lambda: any(" exec " in cmd for cmd in marked_processes(up.mark).values()), 30,
              "the exec session's runc exec")
        assert [p.poll() for p in streams] == [None] * 3
        code, took = stopped_within(lambda: term.type(CTRL_C), term.wait, GRACE)
        assert code == 0, f"exit code {code} after {took:.1f}s; output ends:\n{term.text[-3000:]}"
        assert [wait_exit(p, 10) is not None for p in streams] == [True] * 3  # their server left
    finally:
        for p in streams:
            p.kill()
            p.wait()
    assert "shutting down" in term.text
    assert not port_open(up.port) and not port_open(up.kubelet_port)
    assert not (up.data_dir / "server" / "api.sock").exists()
    assert marked_processes(up.mark) == {}, "processes outlived `kubelite up`"
    assert running_container(up.run_dir, before) == container  # the pod kept running

    up.start()
    after = up.wait_ready("the pod adopted and Ready")
    assert running_container(up.run_dir, after) == container
    assert after["status"]["containerStatuses"][0]["restartCount"] == 0
    assert after["metadata"]["uid"] == before["metadata"]["uid"]


def test_a_second_ctrl_c_exits_at_once_while_the_first_stop_waits(up: Up) -> None:
    term = up.start()
    children = until(lambda: {pid: cmd for pid, cmd in marked_processes(up.mark).items()
                              if "controller-manager" in cmd}, 30, "the controller-manager child")
    for pid in children:  # a child that cannot stop holds the first stop in its SIGTERM wait
        os.kill(pid, signal.SIGSTOP)
    term.type(CTRL_C)
    term.wait_for("shutting down", timeout=GRACE)
    code, took = stopped_within(lambda: term.type(CTRL_C), term.wait, AT_ONCE)
    assert code == 130, f"exit code {code} after {took:.1f}s; output ends:\n{term.text[-3000:]}"
    # the last lines may reach the test's terminal reader a moment after the exit
    until(lambda: "forcing exit" in term.text, 5, "the forced exit's message")
    assert not port_open(up.port)
    assert until(lambda: not marked_processes(up.mark), 5, "the stopped child killed with its parent")


def test_sigterm_stops_agent_and_server_and_the_agent_adopts_its_pod(tmp_path: Path) -> None:
    mark = new_mark()
    with running_node(tmp_path, env=marked_env(mark)) as cluster:
        try:
            sigterm_server_and_agent(cluster, mark)
        finally:  # running_node stops the first server only: this may be the restarted one
            cluster.agent.stop()
            cluster.server.stop()


def sigterm_server_and_agent(cluster: NodeCluster, mark: str) -> None:
    """SIGTERM the agent, then the server; start both again (as cluster.server, .agent)."""
    cluster.apply(POD)
    before = cluster.wait_running("keeps-running", timeout=60)
    run_dir = Path(f"/run/kubelite-{cluster.cluster_id}")
    container = running_container(run_dir, before)
    agent, server = cluster.agent, cluster.server
    assert agent.process is not None
    kubelet_port = int(agent.args[agent.args.index("--kubelet-port") + 1])

    code, took = sigterm(agent.process)
    assert code == 0, f"agent: exit code {code} after {took:.1f}s\n{agent.log_tail()}"
    assert "shutting down" in agent.log_tail()
    assert not port_open(kubelet_port)
    server_tree = {server.process.pid, *children_of(server.process.pid)}
    assert set(marked_processes(mark)) == server_tree, "processes outlived the agent"
    assert running_container(run_dir, before) == container

    code, took = sigterm(server.process)
    assert code == 0, f"server: exit code {code} after {took:.1f}s\n{server.log_tail()}"
    assert not port_open(server.port)
    assert marked_processes(mark) == {}, "processes outlived the server"

    cluster.server = start_server(server.data_dir, "--cluster-cidr", cluster.pod_cidr,
                                  "--service-cidr", cluster.service_cidr, port=server.port,
                                  env=marked_env(mark))
    agent.mark()
    agent.start()
    after = cluster.wait_running("keeps-running", timeout=60)
    assert running_container(run_dir, after) == container
    assert after["status"]["containerStatuses"][0]["restartCount"] == 0


def sigterm(process: subprocess.Popen[bytes]) -> tuple[int | None, float]:
    """SIGTERM `process`: its exit code (None if still running after GRACE) and the time taken."""
    return stopped_within(lambda: process.send_signal(signal.SIGTERM),
                          lambda t: wait_exit(process, t), GRACE)


def wait_exit(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def children_of(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split()}
