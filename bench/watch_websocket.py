"""Watch delivery over HTTP streaming beside WebSocket, in the same run (figures, never assertions).

`watchers` watches are opened from separate load processes (half HTTP chunked streams read
raw, half WebSocket through aiohttp's client), then `events` ConfigMaps are created one after
another. Printed per kind of watch: the server's CPU per delivered event (all threads, from
/proc) and the time until every watcher has every event. Kinds are measured in turns, twice.
The HTTP figure is the floor: a WebSocket message costs the server the same pre-framed bytes
written once per batch, so it should sit beside it. Run it on main too (`PYTHONPATH=<main>/src`)
to compare the HTTP path before and after.

    .venv/bin/python bench/watch_websocket.py [--watchers 400] [--events 50] [--procs 2] [--kinds http]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import Target, _until, server_cpu_seconds, start_api_server, target_of  # noqa: E402

PATH = "/api/v1/namespaces/default/configmaps"


async def _http_watchers(target: Target, path: str, n: int, events: int, ready_by: float) -> float:
    request = target.request("GET", path)

    async def one() -> float:
        reader, writer = await target.connect()
        writer.write(request)
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(_until(ready_by))
        seen = 0
        while seen < events:
            seen += (await reader.read(1 << 16)).count(b"}\n")
        writer.close()
        return time.perf_counter()

    return max(await asyncio.gather(*(one() for _ in range(n))))


async def _ws_watchers(target: Target, path: str, n: int, events: int, ready_by: float) -> float:
    conn = aiohttp.TCPConnector(ssl=target.ssl_context(), limit=0)
    url = f"https://{target.host}:{target.port}{path}"
    async with aiohttp.ClientSession(connector=conn, headers={"Authorization": f"Bearer {target.token}"}) as s:
        async def one() -> float:
            async with s.ws_connect(url) as ws:
                await asyncio.sleep(_until(ready_by))
                for _ in range(events):
                    await ws.receive()
                return time.perf_counter()

        return max(await asyncio.gather(*(one() for _ in range(n))))


def _watchers(kind: str, target: Target, path: str, n: int, events: int, ready_by: float) -> float:
    run = _http_watchers if kind == "http" else _ws_watchers
    return asyncio.run(run(target, path, n, events, ready_by))


async def measure(kind: str, session: aiohttp.ClientSession, url: str, target: Target, pid: int,
                  pool: ProcessPoolExecutor, procs: int, watchers: int, events: int) -> tuple[float, float]:
    async with session.get(f"{url}{PATH}?limit=1") as r:
        rv = (await r.json())["metadata"]["resourceVersion"]
    path = f"{PATH}?watch=true&resourceVersion={rv}&timeoutSeconds=120"
    ready_by = time.perf_counter() + 3 + watchers * 0.005
    per = [watchers // procs + (p < watchers % procs) for p in range(procs)]
    futures = [pool.submit(_watchers, kind, target, path, n, events, ready_by) for n in per]
    await asyncio.sleep(_until(ready_by) + 0.5)
    cpu0, t0 = server_cpu_seconds(pid), time.perf_counter()
    for i in range(events):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{kind}-{time.time_ns()}-{i}"},
                "data": {"k": "v" * 500}}
        async with session.post(f"{url}{PATH}", json=body) as r:
            await r.read()
    done = max(await asyncio.get_running_loop().run_in_executor(None, lambda: [f.result() for f in futures]))
    cpu = server_cpu_seconds(pid) - cpu0
    return cpu / (watchers * events) * 1e6, done - t0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--watchers", type=int, default=400)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--kinds", default="http,websocket", help="http (a build without WebSocket watches)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.watchers} watchers, "
          f"{args.events} events each")
    pool = ProcessPoolExecutor(args.procs, mp_context=get_context("spawn"))
    server = start_api_server(Path(tempfile.mkdtemp(prefix="kubelite-bench-ws-")) / "data", "")
    try:
        target = target_of(server)
        conn = aiohttp.TCPConnector(ssl=target.ssl_context())
        async with aiohttp.ClientSession(connector=conn, headers={"Authorization": f"Bearer {target.token}"}) as s:
            for turn in (1, 2):
                for kind in args.kinds.split(","):
                    us, seconds = await measure(kind, s, server.url, target, server.process.pid, pool,
                                                args.procs, args.watchers, args.events)
                    print(f"turn {turn} {kind:>9}: server CPU {us:.1f} us per delivered event; "
                          f"all {args.watchers * args.events:,} delivered in {seconds:.2f} s")
    finally:
        server.stop()
        pool.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
