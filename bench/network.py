"""Pod network figures on machines made of network namespaces (tests/helpers/machines.py), for
each backend (vxlan, host-gw). Printed, never asserted. Run as root:

    python bench/network.py [--seconds 3] [--round-trips 2000] [--rounds 3] [--backends vxlan,host-gw]

For each backend, two machines join a fresh server, and then:
- join to Ready: from starting `kubelite agent` on the second machine to its Node Ready with
  the pod network in place both ways (each machine routes the other's pod CIDR);
- TCP throughput (one stream, 1 MiB writes) and request latency (64-byte request and answer
  on one connection, p50/p99) between two pods on one machine, between pods on the two
  machines, and between the two machines themselves over the test LAN (the floor); each path
  is run `--rounds` times, interleaved, and the medians are shown.

The pods are `sleep` containers that hold network namespaces; the traffic is made by this
script's own interpreter entered into those namespaces (`nsenter --net`), so the figures are
the network path's (veth, bridge, vxlan or routes, NAT), not a tool's. Everything is made with
unique names and removed by the machines helper, even on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubelite.network.peers import HOST_GW, VXLAN  # noqa: E402
from tests.helpers.machines import Machine, MachineCluster, machine_cluster  # noqa: E402

PORT = 5201
GOALS = {HOST_GW: 0.90, VXLAN: 0.70}  # cross-node throughput / host-to-host floor

# The worker, run inside a network namespace: `serve`, `stream SECONDS HOST` (prints bytes and
# seconds) or `ping N HOST` (prints each round trip in microseconds).
WORKER = r"""
import socket, sys, time
mode = sys.argv[1]
if mode == "serve":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2]))); s.listen(4); print("listening", flush=True)
    while True:
        c, _ = s.accept()
        kind = c.recv(1)
        if kind == b"T":
            while c.recv(1 << 20):
                pass
        else:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                data = c.recv(64)
                if not data:
                    break
                c.sendall(data)
        c.close()
host, port = sys.argv[3], int(sys.argv[4])
c = socket.create_connection((host, port), timeout=10)
if mode == "stream":
    c.sendall(b"T"); block = b"\0" * (1 << 20); sent = 0
    start = time.perf_counter(); end = start + float(sys.argv[2])
    while time.perf_counter() < end:
        c.sendall(block); sent += len(block)
    c.shutdown(socket.SHUT_WR); c.recv(1)  # the server has read it all when it closes
    print(sent, time.perf_counter() - start)
else:
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.sendall(b"R"); msg = b"x" * 64; out = []
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter(); c.sendall(msg); got = 0
        while got < 64:
            got += len(c.recv(64 - got))
        out.append((time.perf_counter() - t) * 1e6)
    print(" ".join(f"{x:.1f}" for x in out))
"""


def in_netns(netns: str, *args: str) -> list[str]:
    return ["nsenter", f"--net=/run/netns/{netns}", sys.executable, "-c", WORKER, *args]


def measure(server_ns: str, client_ns: str, address: str, seconds: float,
            round_trips: int) -> tuple[float, float, float]:
    """(Gbit/s, p50 µs, p99 µs) from `client_ns` to a server in `server_ns` at `address`."""
    server = subprocess.Popen(in_netns(server_ns, "serve", str(PORT)), stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        server.stdout.readline()  # listening
        out = subprocess.run(in_netns(client_ns, "stream", str(seconds), address, str(PORT)),
                             capture_output=True, text=True, check=True, timeout=60).stdout.split()
        gbits = int(out[0]) * 8 / float(out[1]) / 1e9
        rtts = [float(x) for x in subprocess.run(
            in_netns(client_ns, "ping", str(round_trips), address, str(PORT)),
            capture_output=True, text=True, check=True, timeout=120).stdout.split()]
        q = statistics.quantiles(rtts, n=100)
        return gbits, q[49], q[98]
    finally:
        server.kill()
        server.wait()


def api_get(mc: MachineCluster, path: str) -> Any:
    ctx = ssl.create_default_context(cafile=str(mc.server.data_dir / "tls" / "ca.crt"))
    req = urllib.request.Request(f"https://{mc.gateway}:{mc.server.port}{path}",
                                 headers={"Authorization": f"Bearer {mc.server.token()}"})
    with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
        return json.load(resp)


def node_ready_cidr(mc: MachineCluster, name: str) -> str:
    """The node's pod CIDR once it is Ready, else ""."""
    try:
        node = api_get(mc, f"/api/v1/nodes/{name}")
    except OSError:
        return ""
    status = node.get("status") or {}
    ready = [c for c in status.get("conditions") or [] if c.get("type") == "Ready"]
    if not ready or ready[0].get("status") != "True":
        return ""
    return str((node.get("spec") or {}).get("podCIDR") or "")


def routes_to(m: Machine, cidr: str) -> bool:
    return cidr in m.run("ip", "-4", "route", "show", cidr).stdout


def join_to_ready(mc: MachineCluster, first: Machine, second: Machine,
                  backend: str) -> tuple[float, float]:
    """Seconds from starting the second agent to its Node Ready, and to Ready with routes
    both ways (each machine routing the other's pod CIDR)."""
    first_cidr = node_ready_cidr(mc, first.node_name)
    start = time.perf_counter()
    mc.join(second, "--pod-network", backend)
    ready = 0.0
    while True:
        cidr = node_ready_cidr(mc, second.node_name)
        if cidr and not ready:
            ready = time.perf_counter() - start
        if cidr and routes_to(first, cidr) and routes_to(second, first_cidr):
            return ready, time.perf_counter() - start
        if time.perf_counter() - start > 60:
            raise RuntimeError("the second machine's pod network never came up")
        time.sleep(0.01)


def pod_netns(cluster_id: str, ip: str) -> str:
    """The network namespace (in /run/netns) of this cluster's pod holding `ip`."""
    for name in os.listdir("/run/netns"):
        if name.startswith(f"kl-{cluster_id}-"):
            addrs = subprocess.run(["ip", "-n", name, "-4", "-o", "addr"], capture_output=True,
                                   text=True).stdout
            if f" {ip}/" in addrs:
                return name
    raise RuntimeError(f"no network namespace holds {ip}")


def holder(name: str, node: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [{
                "name": "c", "image": "busybox:latest", "command": ["sleep", "3600"]}]}}


def pods_running(mc: MachineCluster, names: list[str]) -> dict[str, str]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pods = api_get(mc, "/api/v1/namespaces/default/pods")["items"]
        ips = {p["metadata"]["name"]: (p.get("status") or {}).get("podIP", "")
               for p in pods if (p.get("status") or {}).get("phase") == "Running"}
        if all(ips.get(n) for n in names):
            return {n: ips[n] for n in names}
        time.sleep(0.2)
    raise RuntimeError(f"pods {names} not running")


Figures = tuple[float, float, float]  # Gbit/s, p50 µs, p99 µs


@dataclass
class Result:
    ready: float  # seconds from agent start to Node Ready
    join: float  # ... and to the pod network in place both ways
    host: Figures
    same: Figures
    cross: Figures


def median(runs: list[Figures]) -> Figures:
    """Each figure's median over the rounds (the machine is shared: single runs wander)."""
    gbits, p50, p99 = zip(*runs, strict=True)
    return statistics.median(gbits), statistics.median(p50), statistics.median(p99)


def bench_backend(backend: str, seconds: float, round_trips: int, rounds: int) -> Result:
    with tempfile.TemporaryDirectory(prefix=f"bench-net-{backend}-") as tmp, \
            machine_cluster(Path(tmp), 2) as mc:
        a, b = mc.machines
        mc.join(a, "--pod-network", backend)
        ready, join = join_to_ready(mc, a, b, backend)
        for name, m in (("srv", a), ("near", a), ("far", b)):
            mc.server.kubectl("apply", "-f", "-", input=json.dumps(holder(name, m.node_name)))
        ips = pods_running(mc, ["srv", "near", "far"])
        srv = pod_netns(a.cluster_id, ips["srv"])
        near = pod_netns(a.cluster_id, ips["near"])
        far = pod_netns(b.cluster_id, ips["far"])
        paths = {"host": (b.netns, a.netns, b.address), "same": (srv, near, ips["srv"]),
                 "cross": (srv, far, ips["srv"])}
        runs: dict[str, list[Figures]] = {key: [] for key in paths}
        for _ in range(rounds):  # interleaved, so a busy moment hits every path alike
            for key, (server_ns, client_ns, address) in paths.items():
                runs[key].append(measure(server_ns, client_ns, address, seconds, round_trips))
        return Result(ready, join, median(runs["host"]), median(runs["same"]), median(runs["cross"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput run")
    parser.add_argument("--round-trips", type=int, default=2000, help="per latency run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each path (medians shown)")
    parser.add_argument("--backends", default=f"{VXLAN},{HOST_GW}")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/network.py needs root (network namespaces, runc)")
    print(f"{'backend':8} {'path':22} {'Gbit/s':>8} {'p50 µs':>8} {'p99 µs':>8}")
    for backend in args.backends.split(","):
        got = bench_backend(backend, args.seconds, args.round_trips, args.rounds)
        for figures, label in ((got.host, "host-to-host (floor)"), (got.same, "pod-to-pod, same node"),
                               (got.cross, "pod-to-pod, cross node")):
            gbits, p50, p99 = figures
            print(f"{backend:8} {label:22} {gbits:8.2f} {p50:8.0f} {p99:8.0f}")
        cross = got.cross[0] / got.host[0]
        print(f"{backend:8} cross-node / floor: {cross:.0%} (goal >= {GOALS[backend]:.0%}); "
              f"agent start to Node Ready {got.ready:.2f} s, to Ready with a working pod "
              f"network {got.join:.2f} s (goal <= 2 s)",
              flush=True)


if __name__ == "__main__":
    main()
