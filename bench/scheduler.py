"""Scheduler throughput end to end through the API server (figures, never assertions).

Starts `kubelite server` (scheduler inside), registers simulated nodes, creates pods as fast
as the API takes them from concurrent clients, and watches them get bound. Prints pods/s (first
create to last bound, observed by watch) and per-pod latency (create sent -> bound seen) p50/p99.

Scenarios (kube-scheduler's scheduler_perf shapes):
  basic-500     500 nodes,   5,000 pods
  basic-5000    5,000 nodes, 10,000 pods (SchedulingBasic)
  spread-5000   5,000 nodes, 5,000 pods with required topology spread over 3 zones

Nodes: `--kubelets none` (default; as scheduler_perf: Nodes are API objects shaped by `sim/`,
nobody heartbeats or reports pods running) or `--kubelets sim` (a `kubelite sim-nodes` process
that heartbeats and reports every bound pod Running, adding that load to the API server).

    .venv/bin/python bench/scheduler.py [--scenario basic-500 ...] [--clients 32] [--kubelets none|sim]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubelite.sim.config import NodeShape, node_name  # noqa: E402
from kubelite.sim.network import node_internal_ip  # noqa: E402
from kubelite.sim.node_shape import build_node  # noqa: E402
from tests.helpers.cluster import Server, start_server  # noqa: E402

NAMESPACE = "default"


@dataclass(frozen=True)
class Scenario:
    name: str
    nodes: int
    pods: int
    spread: bool = False


SCENARIOS = {s.name: s for s in (
    Scenario("basic-500", 500, 5_000),
    Scenario("basic-5000", 5_000, 10_000),
    Scenario("spread-5000", 5_000, 5_000, spread=True),
)}


def pod_body(name: str, spread: bool) -> bytes:
    """scheduler_perf's pod-default.yaml: one container, 100m cpu / 500Mi memory requests."""
    spec: dict[str, Any] = {"containers": [{
        "name": "pause", "image": "registry.k8s.io/pause:3.10",
        "resources": {"requests": {"cpu": "100m", "memory": "500Mi"},
                      "limits": {"cpu": "100m", "memory": "500Mi"}}}]}
    if spread:
        spec["topologySpreadConstraints"] = [{
            "maxSkew": 5, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "spread"}}}]
    labels = {"app": "spread" if spread else "basic"}
    return json.dumps({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "labels": labels}, "spec": spec}).encode()


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a process (all its threads) so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The child processes of `pid` (the server's `kubelite controller-manager`)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def tree_cpu(pid: int) -> tuple[float, float]:
    """(CPU seconds of `pid`, CPU seconds of its children)."""
    return cpu_seconds(pid), sum(cpu_seconds(c) for c in children(pid))


async def count_scheduled_events(session: aiohttp.ClientSession, url: str) -> int:
    params = "fieldSelector=reason%3DScheduled"
    async with session.get(f"{url}/api/v1/namespaces/{NAMESPACE}/events?{params}") as r:
        return len((await r.json())["items"])


async def wait_scheduled_events(session: aiohttp.ClientSession, url: str, pods: int,
                                timeout: float = 120.0) -> tuple[int, float]:
    """(Scheduled events recorded, seconds until they were all there or the timeout)."""
    start = time.perf_counter()
    count = 0
    while time.perf_counter() - start < timeout:
        count = await count_scheduled_events(session, url)
        if count >= pods:
            break
        await asyncio.sleep(1.0)
    return count, time.perf_counter() - start


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


class _Meta(msgspec.Struct):
    name: str = ""


class _Spec(msgspec.Struct, rename="camel"):
    node_name: str | None = None


class _Pod(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)
    spec: _Spec = msgspec.field(default_factory=_Spec)


class _WatchEvent(msgspec.Struct):
    type: str
    object: _Pod


async def register_nodes(session: aiohttp.ClientSession, url: str, count: int,
                         concurrency: int = 64) -> None:
    """POST `count` Nodes shaped like simulated kubelets' (Ready, 32 cpu, 256Gi, 110 pods, 3 zones)."""
    shape = NodeShape(zones=3)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    numbers = iter(range(1, count + 1))

    async def worker() -> None:
        for n in numbers:
            body = build_node(node_name(shape.prefix, n, count), n - 1, node_internal_ip(n), shape, now)
            async with session.post(f"{url}/api/v1/nodes", json=body) as r:
                if r.status not in (201, 409):
                    raise RuntimeError(f"creating node: {r.status} {await r.text()}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def start_sim_nodes(server: Server, count: int, log_dir: Path) -> subprocess.Popen[bytes]:
    """A `kubelite sim-nodes` process; returns once it has registered every node."""
    log = open(log_dir / "sim-nodes.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubelite.cli.main", "sim-nodes", "--count", str(count),
         "--zones", "3", "--kubeconfig", str(server.kubeconfig)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sim-nodes exited: {(log_dir / 'sim-nodes.log').read_text()}")
        if "registered" in (log_dir / "sim-nodes.log").read_text(errors="replace"):
            return proc
        time.sleep(0.2)
    raise RuntimeError("sim-nodes did not register its nodes in time")


async def wait_nodes_seen(session: aiohttp.ClientSession, url: str, count: int) -> None:
    while True:
        async with session.get(f"{url}/api/v1/nodes") as r:
            body = await r.json()
        if len(body["items"]) >= count:
            return
        await asyncio.sleep(0.5)


async def run_pods(session: aiohttp.ClientSession, url: str, sc: Scenario, clients: int
                   ) -> tuple[float, list[float], float]:
    """Create sc.pods pods and wait for all to be bound; (pods/s, latencies, create rate)."""
    async with session.get(f"{url}/api/v1/namespaces/{NAMESPACE}/pods?limit=1") as r:
        rv = (await r.json())["metadata"]["resourceVersion"]
    sent: dict[str, float] = {}
    bound: dict[str, float] = {}
    all_bound = asyncio.Event()
    decoder = msgspec.json.Decoder(_WatchEvent)

    async def watch() -> None:
        params = f"watch=true&resourceVersion={rv}&timeoutSeconds=3600&allowWatchBookmarks=false"
        async with session.get(f"{url}/api/v1/namespaces/{NAMESPACE}/pods?{params}") as r:
            async for line in r.content:
                now = time.perf_counter()
                ev = decoder.decode(line)
                name = ev.object.metadata.name
                if ev.object.spec.node_name and name not in bound:
                    bound[name] = now
                    if len(bound) >= sc.pods:
                        all_bound.set()
                        return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.3)  # the watch is open before the first create
    bodies = [(f"bench-{i:06d}", pod_body(f"bench-{i:06d}", sc.spread)) for i in range(sc.pods)]
    todo = iter(bodies)

    async def creator() -> None:
        for name, body in todo:
            sent[name] = time.perf_counter()
            async with session.post(f"{url}/api/v1/namespaces/{NAMESPACE}/pods", data=body,
                                    headers={"Content-Type": "application/json"}) as r:
                await r.read()
                if r.status != 201:
                    raise RuntimeError(f"create failed: {r.status}")

    first = time.perf_counter()
    await asyncio.gather(*(creator() for _ in range(clients)))
    created = time.perf_counter()
    try:
        await asyncio.wait_for(all_bound.wait(), timeout=max(120.0, sc.pods / 20))
    finally:
        watcher.cancel()
    last = max(bound.values())
    latencies = [bound[n] - sent[n] for n in bound if n in sent]
    return sc.pods / (last - first), latencies, sc.pods / (created - first)


def algorithm_only(sc: Scenario) -> tuple[float, float]:
    """The scheduling cycle alone, in this process, no API server (schedule + assume).

    (pods per wall-clock second, pods per CPU second): the second holds on a busy machine.
    """
    from kubelite.api.types import core_v1
    from kubelite.scheduler.algorithm import Algorithm
    from kubelite.scheduler.cache import SchedulerCache

    shape = NodeShape(zones=3)
    cache = SchedulerCache()
    for n in range(1, sc.nodes + 1):
        body = build_node(node_name(shape.prefix, n, sc.nodes), n - 1, node_internal_ip(n), shape, "")
        cache.add_node(msgspec.convert(body, core_v1.Node))
    algo = Algorithm()
    pods = []
    for i in range(sc.pods):
        body = json.loads(pod_body(f"p{i}", sc.spread))
        body["metadata"]["namespace"] = NAMESPACE
        pods.append(msgspec.convert(body, core_v1.Pod))
    start, cpu = time.perf_counter(), time.process_time()
    for p in pods:
        cache.assume_pod(p, algo.schedule(p, cache.snapshot()).node)
    return sc.pods / (time.perf_counter() - start), sc.pods / (time.process_time() - cpu)


async def bench(sc: Scenario, clients: int, kubelets: str) -> None:
    # `timeout` (SIGTERM) must still stop the server and sim-nodes processes (finally below).
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    tmp = Path(tempfile.mkdtemp(prefix=f"kubelite-bench-sched-{sc.name}-"))
    # a /8 holds a /24 for each of 5,000+ nodes (the default /16 holds 256)
    server = start_server(tmp / "data", "--cluster-cidr", "10.0.0.0/8")
    sim: subprocess.Popen[bytes] | None = None
    try:
        ctx = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.crt"))
        conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
        headers = {"Authorization": f"Bearer {server.token()}"}
        timeout = aiohttp.ClientTimeout(total=None)
        async with aiohttp.ClientSession(connector=conn, headers=headers, timeout=timeout) as s:
            t = time.perf_counter()
            if kubelets == "sim":
                sim = await asyncio.to_thread(start_sim_nodes, server, sc.nodes, tmp)
            else:
                await register_nodes(s, server.url, sc.nodes)
            await wait_nodes_seen(s, server.url, sc.nodes)
            print(f"[{sc.name}] {sc.nodes:,} nodes registered in {time.perf_counter() - t:.1f}s "
                  f"(kubelets: {kubelets})", flush=True)
            await asyncio.sleep(2.0)  # the scheduler's node informer catches up
            cpu, child_cpu = tree_cpu(server.process.pid)
            own_cpu = time.process_time()
            rate, lat, create_rate = await run_pods(s, server.url, sc, clients)
            own_per_pod = (time.process_time() - own_cpu) / sc.pods
            cpu_after, child_cpu_after = tree_cpu(server.process.pid)
            cpu_per_pod = (cpu_after - cpu) / sc.pods
            child_per_pod = (child_cpu_after - child_cpu) / sc.pods
            print(f"[{sc.name}] {sc.nodes:,} nodes / {sc.pods:,} pods"
                  f"{' (required spread over 3 zones)' if sc.spread else ''}: "
                  f"{rate:,.0f} pods/s scheduled; latency p50 {pct(lat, .5) * 1000:,.0f} ms, "
                  f"p99 {pct(lat, .99) * 1000:,.0f} ms; creates accepted at {create_rate:,.0f}/s; "
                  f"CPU per pod: API server {cpu_per_pod * 1000:.2f} ms, scheduler and controllers "
                  f"{child_per_pod * 1000:.2f} ms, this benchmark's clients {own_per_pod * 1000:.2f} ms",
                  flush=True)
            # The scheduler records events in the background (as client-go's broadcaster does):
            # say when they were all there, so no work is hidden after the last binding.
            events, after = await wait_scheduled_events(s, server.url, sc.pods)
            print(f"[{sc.name}] Scheduled events: {events:,} of {sc.pods:,} recorded "
                  f"{after:.1f} s after the last binding", flush=True)
    finally:
        if sim is not None:
            sim.terminate()
            try:
                sim.wait(10)
            except subprocess.TimeoutExpired:
                sim.kill()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="repeatable; default: all three")
    parser.add_argument("--clients", type=int, default=32, help="concurrent creating clients")
    parser.add_argument("--kubelets", choices=("none", "sim"), default="none")
    parser.add_argument("--algorithm-only", action="store_true",
                        help="time the scheduling cycle in-process, without any server")
    args = parser.parse_args()
    for name in args.scenario or list(SCENARIOS):
        sc = SCENARIOS[name]
        if args.algorithm_only:
            wall, cpu = algorithm_only(sc)
            print(f"[{sc.name}] scheduling cycle alone (no API server): {wall:,.0f} pods/s "
                  f"({cpu:,.0f} per CPU-second)", flush=True)
        else:
            asyncio.run(bench(sc, args.clients, args.kubelets))


if __name__ == "__main__":
    main()
