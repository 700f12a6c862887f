"""NetworkPolicy: time for a policy change to take effect on every node, with 1,000 pods.

A real API server (no controllers) holds 1,000 pods spread over N simulated nodes (pods bound
to node names, their status given an address: no containers), in 4 namespaces each with a
default-deny policy and 10 labels. N real `PolicyEnforcer`s (network/policy/, one per node,
in this process) watch the server and program N real nft tables of their own (on a bridge
name no device has, so no traffic is touched). Each round PATCHes one policy (its pod
selector, peer selector and port change) and measures from the PATCH to each node's nft
transaction holding the new port: the figure is the slowest node, p50/p99 over the rounds.
Beside it, in the same run: the watch alone (PATCH to the first enforcer's informer event),
compile + render of one node's table alone, and one `nft -f` of that table alone (the floors).
The N enforcers share one event loop here; on real machines each has its own.

    .venv/bin/python bench/networkpolicy.py [--pods 1000] [--nodes 3] [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import start_api_server  # noqa: E402
from kubelite.client import ApiClient  # noqa: E402
from kubelite.network.policy import PolicyEnforcer, remove_table, render  # noqa: E402
from kubelite.network.policy.ruleset import transaction  # noqa: E402
from kubelite.proxy.nft import run_nft  # noqa: E402

NAMESPACES = 4
LABELS = 10


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return f"{pct(values, 50) * 1000:.0f} / {pct(values, 99) * 1000:.0f} ms"


def moving_policy(i: int) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": {"app": f"app-{i % LABELS}"}},
            "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {
                "app": f"app-{(i + 1) % LABELS}"}}}], "ports": [{"port": 10000 + i, "protocol": "TCP"}]}]}


async def populate(client: ApiClient, pods: int, nodes: list[str]) -> None:
    for n in range(NAMESPACES):
        await client.create("namespaces", {"metadata": {"name": f"bench-{n}"}})
        await client.create("networkpolicies", {"metadata": {"name": "default-deny"}, "spec": {
            "podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}, f"bench-{n}")
    await client.create("networkpolicies", {"metadata": {"name": "moving"}, "spec": moving_policy(0)}, "bench-0")
    sem = asyncio.Semaphore(32)

    async def one(i: int) -> None:
        ns = f"bench-{i % NAMESPACES}"
        async with sem:
            labels = {"app": f"app-{i // NAMESPACES % LABELS}"}  # every label in every namespace
            await client.create("pods", {"metadata": {"name": f"p{i}", "labels": labels},
                                         "spec": {"nodeName": nodes[i % len(nodes)], "containers": [{
                                             "name": "c", "image": "busybox",
                                             "ports": [{"name": "http", "containerPort": 8080}]}]}}, ns)
            ip = f"10.{200 + i // 65536}.{i // 256 % 256}.{i % 256}"
            await client.patch("pods", f"p{i}", ns, {"status": {"phase": "Running", "podIP": ip,
                                                                "podIPs": [{"ip": ip}]}}, subresource="status")

    await asyncio.gather(*(one(i) for i in range(pods)))


async def run(args: argparse.Namespace, tmp: Path) -> None:
    server = start_api_server(tmp / "server", f"sqlite:///{tmp / 'state.db'}")
    tag = secrets.token_hex(3)
    tables = [f"klbench{tag}_{n}_pol" for n in range(args.nodes)]
    nodes = [f"bench-node-{n}" for n in range(args.nodes)]
    enforcers: list[PolicyEnforcer] = []
    clients: list[ApiClient] = []

    def client() -> ApiClient:
        c = ApiClient(server.url, token=server.token(), ca_file=str(server.data_dir / "tls" / "ca.crt"))
        clients.append(c)
        return c

    try:
        admin = client()
        started = time.monotonic()
        await populate(admin, args.pods, nodes)
        print(f"{args.pods} pods on {args.nodes} simulated nodes in {NAMESPACES} namespaces "
              f"(made in {time.monotonic() - started:.1f} s)")
        enforcers = [PolicyEnforcer(client(), table, node_name=node, bridge=f"klb{tag}{n}")
                     for n, (table, node) in enumerate(zip(tables, nodes, strict=True))]
        for e in enforcers:
            await e.start()
        seen: list[float] = []
        enforcers[0].policies.on_update(lambda old, new: seen.append(time.monotonic()))

        end_to_end: list[float] = []
        watch: list[float] = []
        for i in range(1, args.rounds + 1):
            marker = f"{{ {10000 + i} }}"
            seen.clear()
            t0 = time.monotonic()
            await admin.patch("networkpolicies", "moving", "bench-0", {"spec": moving_policy(i)})
            done: dict[int, float] = {}
            deadline = t0 + 30
            while len(done) < len(enforcers):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"round {i}: not applied on nodes {set(range(len(enforcers))) - set(done)}")
                for n, e in enumerate(enforcers):
                    if n not in done and e.applied is not None and marker in e.applied:
                        done[n] = time.monotonic()
                await asyncio.sleep(0.001)
            end_to_end.append(max(done.values()) - t0)
            if seen:
                watch.append(seen[0] - t0)

        compile_times: list[float] = []
        nft_times: list[float] = []
        one = enforcers[0]
        for _ in range(args.rounds):
            t0 = time.monotonic()
            text = render(one.table, one.compile(), one.bridge)
            compile_times.append(time.monotonic() - t0)
            t0 = time.monotonic()
            await run_nft(transaction(one.table, text))
            nft_times.append(time.monotonic() - t0)
        compiled = one.compile()
        print(f"node 0: {len(compiled.ingress_isolated)} isolated pods, {len(compiled.rules)} rules, "
              f"table of {len(text) // 1024} KiB")
        print(f"policy change to applied on every node ({args.nodes}), p50 / p99: {ms(end_to_end)} "
              f"(goal p99 <= 1 s; mean {statistics.mean(end_to_end) * 1000:.0f} ms)")
        print(f"  floor: PATCH to the watch event, p50 / p99: {ms(watch)}")
        print(f"  floor: compile + render one node's table, p50 / p99: {ms(compile_times)}")
        print(f"  floor: one `nft -f` of that table, p50 / p99: {ms(nft_times)}")
    finally:
        for e in enforcers:
            with contextlib.suppress(Exception):
                await e.stop()
        for table in tables:
            await remove_table(table)
        for c in clients:
            await c.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-netpol-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
