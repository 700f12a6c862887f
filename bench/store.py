"""Raw store put rate and latency: SQLite (group commit) and etcd (its gRPC API), 1, 8 and 64 writers.

    .venv/bin/python bench/store.py [--puts N] [--backend sqlite|etcd|both]

Prints figures only. `put_rate` is reused by bench/api.py.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubelite.store.interface import Store  # noqa: E402

VALUE = b"x" * 1024  # about the size of a small pod in JSON


async def put_rate(store: Store, clients: int, n: int, latencies: list[float] | None = None) -> float:
    """Create `n` new keys from `clients` concurrent writers; returns creates per second.

    Each call writes under a fresh prefix, so it can be called again on the same store.
    With `latencies`, each create's latency (seconds) is appended to it.
    """
    prefix = f"/bench/{uuid.uuid4().hex}"

    async def writer(w: int) -> None:
        for i in range(w, n, clients):
            began = time.perf_counter()
            await store.create(f"{prefix}/{i}", VALUE)
            if latencies is not None:
                latencies.append(time.perf_counter() - began)

    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(clients)))
    return n / (time.perf_counter() - started)


async def report(name: str, store: Store, puts: int) -> None:
    await store.start()
    try:
        await put_rate(store, 8, 200)  # warm up
        for clients in (1, 8, 64):
            latencies: list[float] = []
            rate = await put_rate(store, clients, puts, latencies)
            cuts = statistics.quantiles(latencies, n=100)
            print(
                f"[{name:6}] {clients:>2} writers: {rate:>8,.0f} puts/s"
                f"   latency p50 {cuts[49] * 1000:6.2f} ms   p99 {cuts[98] * 1000:6.2f} ms"
            )
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puts", type=int, default=3000, help="creates per measurement")
    parser.add_argument("--backend", choices=("sqlite", "etcd", "both"), default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        from kubelite.store.sqlite import SqliteStore

        with tempfile.TemporaryDirectory(prefix="kubelite-bench-store-") as tmp:
            await report("sqlite", SqliteStore(f"{tmp}/state.db"), args.puts)
    if args.backend in ("etcd", "both"):
        from kubelite.store.etcd import EtcdStore
        from tests.helpers.etcd import start_etcd

        with tempfile.TemporaryDirectory(prefix="kubelite-bench-etcd-") as tmp:
            url, stop = start_etcd(tmp)
            try:
                await report("etcd", EtcdStore([url]), args.puts)
            finally:
                stop()


if __name__ == "__main__":
    asyncio.run(main())
