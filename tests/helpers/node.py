"""A whole one-node cluster for end-to-end tests: server, agent, and a registry with busybox.

Every cluster gets its own data dirs, ports, cluster id (so its own bridge, netns names,
cgroup root, runc state) and pod CIDR, and is torn down even when a test fails: the agent is
stopped, `kubelite agent --cleanup` removes every host resource it made, then the server and
registry stop.
"""

from __future__ import annotations

import json
import random
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.cluster import Server, free_port, start_server
from tests.helpers.registry import (
    Registry,
    build_busybox_image,
    mirror_config,
    push_image,
    start_registry,
)


@dataclass
class Agent:
    data_dir: Path
    args: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    prefix: tuple[str, ...] = ()  # e.g. nsenter into a machine's network namespace
    env: dict[str, str] | None = None  # the agent's environment (default: the test's)

    def start(self, timeout: float = 30) -> None:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [*self.prefix, *agent_command(*self.args)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=self.env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kubelite agent exited {self.process.returncode}:\n{self.log_tail()}")
            if "is ready" in self.log_path.read_text(errors="replace").split("--- start ---")[-1]:
                return
            time.sleep(0.05)
        raise RuntimeError(f"kubelite agent did not get ready:\n{self.log_tail()}")

    def mark(self) -> None:
        with open(self.log_path, "a") as f:
            f.write("\n--- start ---\n")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class NodeCluster:
    server: Server
    agent: Agent
    registry: Registry
    node_name: str
    cluster_id: str
    pod_cidr: str
    service_cidr: str = ""

    def kubectl(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        check = kw.pop("check", True)
        result = self.server.kubectl(*args, check=False, **kw)
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\nagent log tail:\n{self.agent.log_tail()}")
        return result

    def apply(self, manifest: dict[str, Any] | str) -> None:
        text = manifest if isinstance(manifest, str) else yaml.safe_dump(manifest)
        self.kubectl("apply", "-f", "-", input=text)

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        out = self.kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout
        obj: dict[str, Any] = json.loads(out)
        return obj

    def wait_for(self, name: str, check: Callable[[dict[str, Any]], bool], timeout: float = 30,
                 what: str = "condition") -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        pod: dict[str, Any] = {}
        while time.monotonic() < deadline:
            result = self.server.kubectl("get", "pod", name, "-o", "json", check=False)
            if result.returncode == 0:
                pod = json.loads(result.stdout)
                if check(pod):
                    return pod
            time.sleep(0.2)
        raise AssertionError(f"pod {name}: {what} not reached in {timeout}s; last status:\n"
                             f"{json.dumps(pod.get('status'), indent=1)}\n"
                             f"agent log tail:\n{self.agent.log_tail()}")

    def wait_running(self, name: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait_for(name, lambda p: is_ready(p), timeout, "Running and Ready")

    def wait_gone(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.server.kubectl("get", "pod", name, "-o", "name", check=False)
            if result.returncode != 0 and "NotFound" in result.stderr:
                return
            time.sleep(0.2)
        raise AssertionError(f"pod {name} still exists after {timeout}s\n{self.agent.log_tail()}")

    def restart_agent(self, sig: int = signal.SIGKILL) -> None:
        self.agent.stop(sig)
        self.agent.mark()
        self.agent.start()


def is_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    return status.get("phase") == "Running" and bool(ready) and ready[0]["status"] == "True"


def unused_subnet(first: int, last: int) -> str:
    """A 10.A.B.0/24 (first <= A <= last) that no route on this machine uses yet, so clusters
    that tests run side by side never share pod or service addresses."""
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True).stdout
    taken = {line.split()[0] for line in routes.splitlines() if line and line[0].isdigit()}
    while True:
        cidr = f"10.{random.randint(first, last)}.{random.randint(0, 255)}.0/24"
        if cidr not in taken:
            return cidr


def agent_command(*args: str) -> list[str]:
    """The `kubelite agent ARGS` command line, run from this checkout's interpreter."""
    return [sys.executable, "-m", "kubelite.cli.agent", "agent", *args]


def _cleanup_host(agent_args: list[str], prefix: tuple[str, ...] = ()) -> None:
    subprocess.run([*prefix, *agent_command(*agent_args, "--cleanup")], capture_output=True, timeout=60)


@contextmanager
def running_node(tmp: Path, *, image_files: dict[str, bytes] | None = None,
                 agent_args: list[str] | None = None,
                 server_args: list[str] | None = None,
                 env: dict[str, str] | None = None) -> Iterator[NodeCluster]:
    """A server + an agent + a registry serving `busybox:latest` through a docker.io mirror.
    `agent_args` are extra `kubelite agent` flags (e.g. `--eviction-hard ...`), `server_args`
    extra `kubelite server` flags (e.g. `--node-monitor-grace-period 20`); `env` is the
    environment of the server and the agent."""
    tmp.mkdir(parents=True, exist_ok=True)
    cluster_id = secrets.token_hex(3)
    pod_cidr, service_cidr = unused_subnet(200, 250), unused_subnet(160, 190)
    node_name = f"node-{cluster_id}"
    registry = start_registry(tmp)
    server: Server | None = None
    agent: Agent | None = None
    args: list[str] = []  # the agent's command line (also what --cleanup needs)
    try:
        layout = build_busybox_image(tmp / "image", extra_files=image_files)
        push_image(layout, registry.url, "library/busybox", "latest")
        server = start_server(tmp / "server", "--cluster-cidr", pod_cidr, "--service-cidr", service_cidr,
                              *(server_args or []), env=env)
        agent_dir = tmp / "agent"
        agent_dir.mkdir()
        (agent_dir / "registries.yaml").write_text(yaml.safe_dump(mirror_config(registry)))
        args = [
            "--server", server.url,
            "--token-file", str(server.data_dir / "token"),  # the join token: pins the CA
            "--data-dir", str(agent_dir), "--node-name", node_name,
            "--cluster-id", cluster_id, "--kubelet-port", str(free_port()),
            "--node-ip", "127.0.0.1", "--pod-cidr", pod_cidr, "--service-cidr", service_cidr,
            "--cluster-cidr", pod_cidr,
            # the Ingress proxy would take the host's ports 80/443, which tests share
            "--ingress-http-port", "0", "--ingress-https-port", "0",
        ]
        args += agent_args or []
        agent = Agent(agent_dir, args, tmp / "agent.log", env=env)
        agent.start()
        yield NodeCluster(server, agent, registry, node_name, cluster_id, pod_cidr, service_cidr)
    finally:
        if agent is not None:
            agent.stop()
        if args:
            _cleanup_host(args)
        if server is not None:
            server.stop()
        registry.stop()
