"""Many machines on one host: network namespaces on a test LAN, each able to run `kubelite agent`.

`with machine_cluster(tmp, 3) as mc:` makes, uniquely named for this call:
- a LAN: a bridge `klt<id>` on the host with the first address of a /24 picked from the
  benchmark range 198.18.0.0/15 (never used by pods or Services of other tests);
- one network namespace per machine (`klm-<id>-<i>`) with a veth `eth0` on that bridge, its
  own address (.10, .11, ...), loopback up and a default route via the bridge;
- a `kubelite server` on the host listening on the LAN address (so machines reach it and
  verify its certificate by that address) and a registry there serving busybox.

A machine runs `kubelite agent` entered with `nsenter --net=/run/netns/NAME` only (`ip netns
exec` also remounts /sys, which hides the cgroup hierarchy) with its own data dir, cluster id
(so its own runc root, cgroup root, bridge and nft table) and node name. On exit, even on
failure: agents stopped, `kubelite agent --cleanup` in each machine, leftover processes in the
namespaces killed, namespaces, veths and bridge deleted, server and registry stopped.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.helpers.cluster import Server, free_port, start_server
from tests.helpers.leaders import share_pki
from tests.helpers.node import Agent, _cleanup_host, agent_command, unused_subnet
from tests.helpers.registry import (
    Registry,
    build_busybox_image,
    mirror_config,
    push_image,
    start_registry,
)

LAN_RANGE = (198, 18)  # 198.18.0.0/15: RFC 2544 benchmark addresses, routed nowhere
FIRST_MACHINE = 10  # machine i has LAN address .(10 + i)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def unused_lan() -> str:
    """A 198.18-19.X.0/24 prefix ("198.18.X") no route on this host uses yet."""
    routes = ip("-4", "route", "show").stdout
    while True:
        n = random.randint(0, 511)
        prefix = f"{LAN_RANGE[0]}.{LAN_RANGE[1] + n // 256}.{n % 256}"
        if f"{prefix}.0/24" not in routes:
            return prefix


@dataclass
class Machine:
    """One machine: a network namespace on the LAN, and the agent it may run."""

    index: int
    netns: str
    address: str
    node_name: str
    cluster_id: str
    data_dir: Path
    agent: Agent | None = None

    @property
    def nsenter(self) -> tuple[str, ...]:
        return ("nsenter", f"--net=/run/netns/{self.netns}")

    def run(self, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `cmd` inside this machine's network namespace."""
        return subprocess.run([*self.nsenter, *cmd], capture_output=True, text=True, timeout=timeout)

    def agent_args(self, server: str, *extra: str) -> list[str]:
        """Flags naming this machine's own data dir, cluster id and node name (no credential)."""
        return ["--server", server, "--data-dir", str(self.data_dir), "--node-name", self.node_name,
                "--cluster-id", self.cluster_id, *extra]


@dataclass
class MachineCluster:
    server: Server
    registry: Registry
    machines: list[Machine]
    bridge: str
    gateway: str  # the host's LAN address, where the server listens
    cluster_cidr: str
    service_cidr: str
    server_args: tuple[str, ...] = ()
    more_servers: list[Server] = field(default_factory=list)  # add_server's
    _started: list[Machine] = field(default_factory=list)

    @property
    def server_url(self) -> str:
        return f"https://{self.gateway}:{self.server.port}"

    @property
    def token_file(self) -> Path:
        return self.server.data_dir / "token"

    def add_server(self, *extra: str) -> Server:
        """Another `kubelite server` of this cluster on the host, at the next LAN address
        (.2, .3...) and the first's port (the `kubernetes` endpoints carry one port), with the
        first's flags (give it the same --datastore-endpoint) and its CAs, keys and tokens
        (copied from the first's data dir). Stopped with the cluster."""
        address = f"{self.gateway.rsplit('.', 1)[0]}.{2 + len(self.more_servers)}"
        ip("addr", "add", f"{address}/24", "dev", self.bridge)
        # a directory of its own, so its log (named by the port) is its own too
        data_dir = self.server.data_dir.parent / f"server-{2 + len(self.more_servers)}" / "data"
        share_pki(self.server.data_dir, data_dir)
        server = start_server(data_dir, "--cluster-cidr", self.cluster_cidr, "--service-cidr",
                              self.service_cidr, *self.server_args, *extra, port=self.server.port,
                              host=address)
        self.more_servers.append(server)
        return server

    def join(self, machine: Machine, *extra: str, timeout: float = 60) -> Agent:
        """Start `kubelite agent --server URL --token-file TOKEN` in `machine`; returns once ready."""
        args = machine.agent_args(self.server_url, "--token-file", str(self.token_file),
                                  "--service-cidr", self.service_cidr,
                                  "--cluster-cidr", self.cluster_cidr, *extra)
        agent = Agent(machine.data_dir, args, machine.data_dir.parent / f"agent-{machine.index}.log",
                      prefix=machine.nsenter)
        machine.agent = agent
        self._started.append(machine)
        agent.start(timeout)
        return agent

    def kill(self, machine: Machine) -> None:
        """The machine dies: its agent is killed (SIGKILL, no goodbye) and its LAN link goes
        down, so its pods are cut off too; their containers keep running, unreachable."""
        if machine.agent is not None:
            machine.agent.stop(signal.SIGKILL)
        ip("link", "set", _veth(self.bridge, machine), "down")

    def revive(self, machine: Machine, timeout: float = 60) -> Agent:
        """The machine comes back: link up, its agent started again on the same data dir."""
        ip("link", "set", _veth(self.bridge, machine), "up")
        return self.restart_agent(machine, timeout=timeout)

    def restart_agent(self, machine: Machine, sig: int = signal.SIGTERM, timeout: float = 60) -> Agent:
        """Stop the machine's agent with `sig` (if it runs) and start it again; returns once ready."""
        agent = machine.agent
        assert agent is not None, f"{machine.node_name} never joined"
        agent.stop(sig)
        agent.mark()
        agent.start(timeout)
        return agent

    def try_join(self, machine: Machine, *credential: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run an agent in `machine` with `credential` flags and wait for it to exit (a refusal)."""
        self._started.append(machine)
        args = machine.agent_args(self.server_url, *credential, "--service-cidr", self.service_cidr)
        return machine.run(*agent_command(*args), timeout=timeout)


def _make_lan(bridge: str, prefix: str, machines: list[Machine]) -> None:
    ip("link", "add", bridge, "type", "bridge")
    ip("addr", "add", f"{prefix}.1/24", "dev", bridge)
    ip("link", "set", bridge, "up")
    for m in machines:
        veth = _veth(bridge, m)
        ip("netns", "add", m.netns)
        ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", m.netns)
        ip("link", "set", veth, "master", bridge, "up")
        ip("-n", m.netns, "addr", "add", f"{m.address}/24", "dev", "eth0")
        ip("-n", m.netns, "link", "set", "lo", "up")
        ip("-n", m.netns, "link", "set", "eth0", "up")
        ip("-n", m.netns, "route", "add", "default", "via", f"{prefix}.1")


def _remove_machine(mc: MachineCluster | None, m: Machine, bridge: str) -> None:
    if m.agent is not None:
        m.agent.stop()
    if mc is not None and m in mc._started:
        _cleanup_host(m.agent_args(mc.server_url), m.nsenter)
    pids = ip("netns", "pids", m.netns, check=False).stdout.split()
    for pid in pids:  # processes left in the namespace (containers the cleanup missed)
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    ip("netns", "del", m.netns, check=False)
    # The pair goes with the namespace, unless the kernel keeps the namespace a while longer
    # (sockets of killed processes closing): delete our end so nothing stays on the host.
    ip("link", "del", _veth(bridge, m), check=False)


def _veth(bridge: str, m: Machine) -> str:
    return f"{bridge}v{m.index}"


@contextmanager
def machine_cluster(tmp: Path, count: int, *server_args: str) -> Iterator[MachineCluster]:
    """A server on a fresh test LAN and `count` machines ready to join it (none joined yet)."""
    tmp.mkdir(parents=True, exist_ok=True)
    uid = secrets.token_hex(3)
    bridge, prefix = f"klt{uid}", unused_lan()
    cluster_cidr = unused_subnet(200, 250).rsplit(".", 2)[0] + ".0.0/16"
    service_cidr = unused_subnet(160, 190)
    machines = [Machine(i, f"klm-{uid}-{i}", f"{prefix}.{FIRST_MACHINE + i}", f"machine-{uid}-{i}",
                        f"m{uid}{i}", tmp / f"machine-{i}") for i in range(count)]
    registry: Registry | None = None
    server: Server | None = None
    mc: MachineCluster | None = None
    try:
        _make_lan(bridge, prefix, machines)
        registry = start_registry(tmp, host=f"{prefix}.1")
        push_image(build_busybox_image(tmp / "image"), registry.url, "library/busybox", "latest")
        server = start_server(tmp / "server", "--cluster-cidr", cluster_cidr, "--service-cidr", service_cidr,
                              *server_args, port=free_port(), host=f"{prefix}.1")
        for m in machines:
            m.data_dir.mkdir(parents=True)
            (m.data_dir / "registries.yaml").write_text(yaml.safe_dump(mirror_config(registry)))
        mc = MachineCluster(server, registry, machines, bridge, f"{prefix}.1", cluster_cidr, service_cidr,
                            server_args)
        yield mc
    finally:
        for m in machines:
            _remove_machine(mc, m, bridge)
        ip("link", "del", bridge, check=False)
        for more in mc.more_servers if mc is not None else []:
            more.stop()
        if server is not None:
            server.stop()
        if registry is not None:
            registry.stop()
