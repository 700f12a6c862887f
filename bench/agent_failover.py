"""What failing over inside the client costs the agent, beside a local TCP load balancer
(k3s' agent design) measured in the same run (figures, never assertions).

The agent's clients (kubelet, service proxy, pod network, DNS) share one event loop. k3s puts
a TCP proxy on 127.0.0.1 in front of them; here the client picks the server itself
(client/servers.py). This script runs a real `kubelite server` and, in this process, the
same ApiClient three ways: straight to the server; with a ServerPool whose first server
refuses (so every request pays nothing but the pool, the failed server resting); and through
an asyncio TCP relay on 127.0.0.1 in the same event loop (the smallest such load balancer:
no health checks). For each: GET p50 and the client process's CPU per GET, and CPU per LIST
of N ConfigMaps (bytes that a relay copies twice).

    .venv/bin/python bench/agent_failover.py [--gets 2000] [--configmaps 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubelite.client import ApiClient  # noqa: E402
from kubelite.client.kubeconfig import load_kubeconfig  # noqa: E402
from kubelite.client.servers import ServerPool  # noqa: E402
from tests.helpers.cluster import free_port, start_server  # noqa: E402


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def relay(host: str, port: int) -> asyncio.Server:
    """A local TCP load balancer with one backend: every connection piped to host:port."""

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            server_r, server_w = await asyncio.open_connection(host, port)
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def measure(client: ApiClient, gets: int, lists: int) -> tuple[float, float, float]:
    """(GET p50, client CPU per GET, client CPU per LIST), in seconds."""
    await client.get("namespaces", "default", raw=True)  # connect once
    times: list[float] = []
    cpu = time.process_time()
    for _ in range(gets):
        start = time.perf_counter()
        await client.get("namespaces", "default", raw=True)
        times.append(time.perf_counter() - start)
    get_cpu = (time.process_time() - cpu) / gets
    cpu = time.process_time()
    for _ in range(lists):
        await client.list("configmaps", "default", raw=True)
    list_cpu = (time.process_time() - cpu) / lists
    return statistics.median(times), get_cpu, list_cpu


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-") as tmp:
        server = start_server(Path(tmp) / "server")
        try:
            config = load_kubeconfig(str(server.kubeconfig))

            def client(url: str, pool: ServerPool | None = None) -> ApiClient:
                return ApiClient(url, ca_data=config.ca_data, client_cert_data=config.client_cert_data,
                                 client_key_data=config.client_key_data, servers=pool)

            async with client(server.url) as setup:
                body = {"data": {"k": "v" * 1000}}
                await asyncio.gather(*(setup.create("configmaps", {"metadata": {"name": f"cm-{i}"}, **body},
                                                    "default", raw=True) for i in range(args.configmaps)))
            lists = max(1, 20000 // args.configmaps)
            print(f"{args.gets} GETs of a namespace, {lists} LISTs of {args.configmaps} ConfigMaps "
                  f"of 1 kB; medians of {args.rounds} rounds taken in turn")
            cases: list[tuple[str, Callable[[], Awaitable[ApiClient]]]] = []

            async def direct() -> ApiClient:
                return client(server.url)

            async def failed_over() -> ApiClient:
                dead = f"https://127.0.0.1:{free_port()}"
                pool = ServerPool(dead)
                pool.set_servers([server.url])
                c = client(dead, pool)
                await c.get("namespaces", "default", raw=True)  # fails over once
                return c

            lb: list[asyncio.Server] = []

            async def through_relay() -> ApiClient:
                lb.append(await relay(server.host, server.port))
                return client(f"https://127.0.0.1:{lb[-1].sockets[0].getsockname()[1]}")

            cases = [("direct (floor)", direct), ("client failover (this design)", failed_over),
                     ("local TCP load balancer (k3s')", through_relay)]
            results: dict[str, list[tuple[float, float, float]]] = {what: [] for what, _ in cases}
            for _ in range(args.rounds):  # in turn, so that other work on the machine hits all alike
                for what, make in cases:
                    c = await make()
                    try:
                        results[what].append(await measure(c, args.gets, lists))
                    finally:
                        await c.close()
            for what, rows in results.items():
                p50, get_cpu, list_cpu = (statistics.median(col) for col in zip(*rows, strict=True))
                print(f"{what:<34} GET p50 {p50 * 1e3:6.2f} ms   client CPU/GET "
                      f"{get_cpu * 1e3:5.2f} ms   client CPU/LIST {list_cpu * 1e3:6.1f} ms")
            for s in lb:
                s.close()
                await s.wait_closed()
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gets", type=int, default=2000)
    parser.add_argument("--configmaps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
