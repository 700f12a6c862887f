"""Several `kubelite server`s with embedded etcd, each on a machine of its own (a network
namespace on a test LAN, as tests/helpers/machines.py makes them): the first with
`--cluster-init`, the others joining it with `--server` and its token.

Each server listens on its machine's LAN address (port 6443), its etcd on 127.0.0.1:2379 of
that machine (every machine has its own loopback) and on the LAN address port 2380 for peers.
A machine may also run `kubelite agent` joining through any of the servers.
On exit, even on failure: agents stopped and cleaned up (`--cleanup`), servers stopped (their etcd children with them), leftover processes
in the namespaces killed, namespaces, veths and bridge deleted.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.cluster import Server, start_server
from tests.helpers.machines import (
    FIRST_MACHINE,
    Machine,
    _make_lan,
    _remove_machine,
    ip,
    unused_lan,
)
from tests.helpers.node import Agent, _cleanup_host

API_PORT = 6443
CLIENT_URL = "http://127.0.0.1:2379"
START_TIMEOUT = 120  # a joining server syncs its member and waits for its promotion


@dataclass
class ServerMachines:
    machines: list[Machine]
    bridge: str
    servers: dict[int, Server] = field(default_factory=dict)  # by machine index
    agents: list[tuple[Machine, Agent]] = field(default_factory=list)

    def data_dir(self, machine: Machine) -> Path:
        return machine.data_dir / "server"

    def start(self, machine: Machine, *args: str, timeout: float = START_TIMEOUT) -> Server:
        """`kubelite server` in `machine` with `args`; returns once it serves."""
        machine.data_dir.mkdir(parents=True, exist_ok=True)
        server = start_server(self.data_dir(machine), "--etcd-disable-snapshots", *args, port=API_PORT,
                              host=machine.address, prefix=machine.nsenter, timeout=timeout)
        self.servers[machine.index] = server
        return server

    def init(self, machine: Machine, *args: str) -> Server:
        return self.start(machine, "--cluster-init", *args)

    def join(self, machine: Machine, first: Server, *args: str) -> Server:
        return self.start(machine, "--server", first.url, "--token-file", str(first.data_dir / "token"), *args)

    def agent(self, machine: Machine, server: Server, *extra: str) -> Agent:
        """`kubelite agent` in `machine` joining through `server`; returns once it is ready."""
        args = machine.agent_args(server.url, "--token-file", str(server.data_dir / "token"), *extra)
        agent = Agent(machine.data_dir, args, machine.data_dir / "agent.log", prefix=machine.nsenter)
        machine.agent = agent
        self.agents.append((machine, agent))
        agent.start(timeout=60)
        return agent

    def stop(self, machine: Machine, sig: int = signal.SIGTERM) -> int | None:
        server = self.servers.pop(machine.index)
        return server.stop(sig, timeout=20)

    def etcdctl(self, machine: Machine, *args: str) -> subprocess.CompletedProcess[str]:
        return machine.run("etcdctl", "--endpoints", CLIENT_URL, *args)

    def members(self, machine: Machine) -> list[dict[str, object]]:
        out = self.etcdctl(machine, "-w", "json", "member", "list")
        assert out.returncode == 0, out.stderr
        members: list[dict[str, object]] = json.loads(out.stdout)["members"]
        return members

    def etcd_pid(self, machine: Machine) -> int | None:
        """The pid of the etcd child of the server in `machine` (None between two of them)."""
        pid = self.servers[machine.index].process.pid
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{child}/comm").read_text().strip() == "etcd":
                    return int(child)
        return None


@contextmanager
def server_machines(tmp: Path, count: int) -> Iterator[ServerMachines]:
    """`count` machines on a fresh LAN, none running anything yet."""
    tmp.mkdir(parents=True, exist_ok=True)
    uid = secrets.token_hex(3)
    bridge, prefix = f"klt{uid}", unused_lan()
    machines = [Machine(i, f"klm-{uid}-{i}", f"{prefix}.{FIRST_MACHINE + i}", f"machine-{uid}-{i}",
                        f"m{uid}{i}", tmp / f"machine-{i}") for i in range(count)]
    sm = ServerMachines(machines, bridge)
    try:
        _make_lan(bridge, prefix, machines)
        yield sm
    finally:
        for m, agent in sm.agents:  # the node's host resources (cgroups) go with --cleanup
            agent.stop()
            _cleanup_host(agent.args, m.nsenter)
        for server in sm.servers.values():
            server.stop(timeout=20)
        for m in machines:
            _remove_machine(None, m, bridge)
        ip("link", "del", bridge, check=False)
