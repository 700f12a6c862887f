"""Machines on a test LAN, each with a pod, to run the pod network backends against.

    lan netns:   bridge `lan0`, one port per machine
    machine i:   `eth0` 198.18.X.i/24 on the LAN; bridge `cni0` with POD_CIDR_i's .1; the
                 backend's device, routes and rules
    pod i:       `eth0` POD_CIDR_i's .2, route to the cluster CIDR via .1 (as CNI gives pods)

Everything lives in network namespaces named with one random suffix: deleting them removes
every link, address, route and rule, so `close()` cleans up whatever state a test left.

`python -m tests.helpers.pod_lan apply|cleanup JSON` is what runs inside a machine
(`nsenter --net=/run/netns/NAME`): the real backend code, on that namespace's kernel tables.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sh(*argv: str, netns: str = "", check: bool = True,
       timeout: float = 30, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run argv on the host or, with `netns`, inside it (network namespace only)."""
    if netns:
        argv = ("nsenter", f"--net=/run/netns/{netns}", *argv)
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout,
                          cwd=cwd)


@dataclass
class Machine:
    index: int
    netns: str
    pod_netns: str
    ip: str
    pod_cidr: str
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"m{self.index}"

    @property
    def pod_ip(self) -> str:
        return self.pod_cidr.rsplit(".", 1)[0] + ".2"

    def node(self) -> dict[str, Any]:
        """The Node object the API server would hold for this machine."""
        return {"metadata": {"name": self.name, "annotations": dict(self.annotations)},
                "spec": {"podCIDR": self.pod_cidr},
                "status": {"addresses": [{"type": "InternalIP", "address": self.ip}]}}


@dataclass
class PodLan:
    suffix: str
    cluster_cidr: str
    machines: list[Machine]
    lan_netns: str

    def table(self) -> str:
        return f"kubelite_{self.suffix}_net"

    def device(self) -> str:
        return f"kl{self.suffix}.1"

    def run_backend(self, m: Machine, action: str, backend: str,
                    nodes: list[dict[str, Any]]) -> dict[str, Any]:
        """Run the backend in machine `m` (a child process inside its netns)."""
        job = {"action": action, "backend": backend, "nodes": nodes,
               "local": {"name": m.name, "public_ip": m.ip, "pod_cidr": m.pod_cidr,
                         "cluster_cidr": self.cluster_cidr, "device": self.device(),
                         "table": self.table()}}
        out = sh(sys.executable, "-m", "tests.helpers.pod_lan", json.dumps(job), netns=m.netns,
                 check=False, timeout=60, cwd=ROOT)
        if out.returncode != 0:
            raise AssertionError(f"backend {action} in {m.netns} failed: {out.stderr}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    def converge(self, backend: str, machines: list[Machine] | None = None) -> None:
        """Every machine applies the full node list until it is settled, as informers would:
        machines first publish their backend and address, then (vxlan) make devices and
        publish their VTEP MACs, then program every peer."""
        members = machines or self.machines
        for _ in range(3):
            nodes = [m.node() for m in members]
            for m in members:
                m.annotations = self.run_backend(m, "apply", backend, nodes)["annotations"]

    def close(self) -> None:
        for m in self.machines:
            for ns in (m.pod_netns, m.netns):
                _kill_and_delete(ns)
        _kill_and_delete(self.lan_netns)


def _kill_and_delete(netns: str) -> None:
    pids = sh("ip", "netns", "pids", netns, check=False).stdout.split()
    for pid in pids:
        subprocess.run(["kill", "-9", pid], capture_output=True)
    sh("ip", "netns", "del", netns, check=False)


def make_pod_lan(count: int, *, mtu: int = 1500) -> PodLan:
    """`count` machines on a fresh LAN, each with one pod. Call `close()` in a finally."""
    suffix = secrets.token_hex(3)
    a, b = 200 + secrets.randbelow(50), secrets.randbelow(200)
    lan = PodLan(suffix, f"10.{a}.0.0/16", [], f"kltlan-{suffix}")
    try:
        sh("ip", "netns", "add", lan.lan_netns)
        sh("ip", "link", "add", "lan0", "type", "bridge", netns=lan.lan_netns)
        sh("ip", "link", "set", "lan0", "up", netns=lan.lan_netns)
        for i in range(1, count + 1):
            m = Machine(i, f"kltm{i}-{suffix}", f"kltp{i}-{suffix}", f"198.18.{b}.{i}",
                        f"10.{a}.{i}.0/24")
            lan.machines.append(m)
            _machine(lan, m, mtu)
    except BaseException:
        lan.close()
        raise
    return lan


def _machine(lan: PodLan, m: Machine, mtu: int) -> None:
    host_end, pod_end = f"kltl{m.index}{lan.suffix}", f"kltv{m.index}{lan.suffix}"
    for ns in (m.netns, m.pod_netns):
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "set", "lo", "up", netns=ns)
    # the machine's LAN port
    sh("ip", "link", "add", host_end, "mtu", str(mtu), "netns", lan.lan_netns, "type", "veth",
       "peer", "name", "eth0", "netns", m.netns)
    sh("ip", "link", "set", host_end, "master", "lan0", "up", netns=lan.lan_netns)
    sh("ip", "addr", "add", f"{m.ip}/24", "dev", "eth0", netns=m.netns)
    sh("ip", "link", "set", "eth0", "up", netns=m.netns)
    # the pod on the machine's bridge, routed to the cluster CIDR via the bridge (CNI's config)
    gateway = m.pod_cidr.rsplit(".", 1)[0] + ".1"
    sh("ip", "link", "add", "cni0", "type", "bridge", netns=m.netns)
    sh("ip", "addr", "add", f"{gateway}/24", "dev", "cni0", netns=m.netns)
    sh("ip", "link", "set", "cni0", "up", netns=m.netns)
    sh("ip", "link", "add", pod_end, "netns", m.netns, "type", "veth", "peer", "name", "eth0",
       "netns", m.pod_netns)
    sh("ip", "link", "set", pod_end, "master", "cni0", "up", netns=m.netns)
    sh("ip", "addr", "add", f"{m.pod_ip}/24", "dev", "eth0", netns=m.pod_netns)
    sh("ip", "link", "set", "eth0", "up", netns=m.pod_netns)
    sh("ip", "route", "add", lan.cluster_cidr, "via", gateway, netns=m.pod_netns)


# -- inside a machine ------------------------------------------------------------------------


async def _inside(job: dict[str, Any]) -> dict[str, Any]:
    from kubelite.network import forwarding
    from kubelite.network.backend import LocalNode
    from kubelite.network.peers import peers
    from kubelite.network.sync import cleanup, make_backend

    local = LocalNode(**job["local"])
    if job["action"] == "cleanup":
        await cleanup(local)
        return {}
    backend = make_backend(job["backend"], local)
    await forwarding.ensure(local.table, local.pod_cidr, local.cluster_cidr)
    await backend.start()
    await backend.reconcile(peers(job["nodes"], local.name, backend.kind, local.pod_cidr,
                                  local.public_ip))
    return {"annotations": backend.annotations(), "mtu": await backend.pod_mtu()}


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(ROOT, "src"))
    print(json.dumps(asyncio.run(_inside(json.loads(sys.argv[1])))))
