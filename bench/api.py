"""API server figures, for SQLite and etcd in the same run (figures, never assertions).

Prints: single-client create latency p50/p99; creates/s with 1, 8 and 64 concurrent clients
beside the raw store's put rate; LIST of 10,000 and 100,000 pods; watch fan-out p99 to 1,000
watchers; server RSS idle and with 100,000 pods.

    .venv/bin/python bench/api.py [--pods 100000] [--backend sqlite|etcd|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import msgspec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.cluster import start_server  # noqa: E402


def pod(name: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "resources": {"requests": {"cpu": "10m"}}}]},
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def create_many(session: aiohttp.ClientSession, url: str, prefix: str, n: int, clients: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            t = time.perf_counter()
            async with session.post(f"{url}/api/v1/namespaces/default/pods", json=pod(f"{prefix}-{i}")) as r:
                await r.read()
                if r.status != 201:
                    raise RuntimeError(f"create failed: {r.status}")
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return n / (time.perf_counter() - start), latencies


async def fan_out(session: aiohttp.ClientSession, url: str, watchers: int) -> list[float]:
    """Time from one write to its event reaching each of `watchers` watches."""
    async with session.get(f"{url}/api/v1/namespaces/default/configmaps?limit=1") as r:
        rv = (await r.json())["metadata"]["resourceVersion"]
    arrived: list[float] = []
    ready = 0
    done = asyncio.Event()

    async def watch() -> None:
        nonlocal ready
        async with session.get(f"{url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=60") as r:
            ready += 1
            async for _line in r.content:
                arrived.append(time.perf_counter())
                if len(arrived) >= watchers:
                    done.set()
                return

    tasks = [asyncio.create_task(watch()) for _ in range(watchers)]
    while ready < watchers:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    t0 = time.perf_counter()
    async with session.post(f"{url}/api/v1/namespaces/default/configmaps", json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"fan-{time.time_ns()}"}}) as r:
        await r.read()
    await asyncio.wait_for(done.wait(), 30)
    for t in tasks:
        t.cancel()
    return [a - t0 for a in arrived]


async def bench_backend(name: str, endpoint_args: list[str], total_pods: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"kubelite-bench-{name}-"))
    # the scheduler would add a status patch and an event per pending pod: measure the API alone
    server = start_server(tmp / "data", "--disable-scheduler", *endpoint_args)
    try:
        token = server.token()
        ctx = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.crt"))
        conn = aiohttp.TCPConnector(ssl=ctx, limit=0)
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(connector=conn, headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as s:
            await asyncio.sleep(1)
            print(f"[{name}] RSS idle: {rss_mb(server.process.pid):.1f} MB")
            _, lat = await create_many(s, server.url, "single", 300, 1)
            print(f"[{name}] single-client create latency: p50 {pct(lat, .5) * 1000:.2f} ms, p99 {pct(lat, .99) * 1000:.2f} ms")
            for clients in (1, 8, 64):
                rate, _ = await create_many(s, server.url, f"c{clients}", 2000, clients)
                print(f"[{name}] creates/s with {clients:>2} clients: {rate:,.0f}")
            lat = await fan_out(s, server.url, 1000)
            print(f"[{name}] watch fan-out to 1,000 watchers: p50 {pct(lat, .5) * 1000:.1f} ms, p99 {pct(lat, .99) * 1000:.1f} ms")
            have = 2300
            for target in (10_000, total_pods):
                if target > have:
                    await create_many(s, server.url, f"fill{target}", target - have, 64)
                    have = target
                rss_before = rss_mb(server.process.pid)
                t = time.perf_counter()
                async with s.get(f"{server.url}/api/v1/pods") as r:
                    body = await r.read()
                elapsed = time.perf_counter() - t  # to the last byte; parsing is the client's business
                items = len(msgspec.json.decode(body)["items"])
                print(f"[{name}] LIST of {items:,} pods: {elapsed:.2f} s ({len(body) / 1e6:.0f} MB)")
            print(f"[{name}] RSS with {have:,} pods: {rss_before:.1f} MB before the LIST, {rss_mb(server.process.pid):.1f} MB after")
    finally:
        server.stop()


async def raw_store_rates(endpoint_url: str | None) -> None:
    from kubelite.store import open_store
    try:
        from bench.store import put_rate  # type: ignore[import-not-found]
    except ImportError:
        return
    tmp = tempfile.mkdtemp(prefix="kubelite-bench-raw-")
    store = open_store(endpoint_url or "", tmp)
    await store.start()
    try:
        for clients in (1, 8, 64):
            rate = await put_rate(store, clients, 2000)
            print(f"[{'etcd' if endpoint_url else 'sqlite'}] raw store puts/s with {clients:>2} clients: {rate:,.0f}")
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "etcd", "both"), default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        await raw_store_rates(None)
        await bench_backend("sqlite", [], args.pods)
    if args.backend in ("etcd", "both"):
        from tests.helpers.etcd import start_etcd

        tmp = tempfile.mkdtemp(prefix="kubelite-bench-etcd-")
        endpoint, stop = start_etcd(tmp)
        try:
            etcd_url = "etcd://" + endpoint.split("://", 1)[-1]
            await raw_store_rates(etcd_url)
            await bench_backend("etcd", ["--datastore-endpoint", etcd_url], args.pods)
        finally:
            stop()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
