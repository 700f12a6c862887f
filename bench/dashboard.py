"""Dashboard figures: the bundle's size and the page's first paint with many pods, beside the
floor measured in the same run (the browser fetching and parsing the same LIST alone).

    .venv/bin/python bench/dashboard.py [--pods 1000]

A `kubelite server` (no node: the pods stay Pending) gets N pods, then Debian's chromium
(driven by Playwright) opens /dashboard/ logged in with the admin token and the script reads,
from the page's own clock: first contentful paint (the page's shell), and the time until the
pods table holds all N rows (the LIST through the page's watch machinery, rendered).
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import tempfile
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.cluster import Server, start_server  # noqa: E402

STATIC = ROOT / "src/kubelite/apiserver/dashboard/static"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


async def create_pods(server: Server, count: int) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    headers = {"Authorization": f"Bearer {server.token()}"}
    sem = asyncio.Semaphore(16)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx), headers=headers) as s:
        async def one(i: int) -> None:
            body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i:05d}", "labels": {"app": "bench"}},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
            async with sem, s.post(f"{server.url}/api/v1/namespaces/default/pods", json=body) as r:
                r.raise_for_status()
        await asyncio.gather(*(one(i) for i in range(count)))


def measure(server: Server, count: int, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for run in range(runs):
            context = browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{server.url}/dashboard/#token={server.token()}")
            page.wait_for_function(f"() => document.querySelectorAll('#pods tbody tr').length >= {count}", timeout=60_000)
            table = page.evaluate("() => performance.now()")
            timing = page.evaluate("""() => performance.getEntriesByType('resource').filter(e => /api\\/v1\\/pods$/.test(e.name))
                .map(e => [Math.round(e.startTime), Math.round(e.responseStart), Math.round(e.responseEnd)])[0]""")
            render = page.evaluate("() => performance.getEntriesByName('dashboard-render').map(e => [Math.round(e.startTime), Math.round(e.duration)]).pop()")
            fcp = page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0")
            floor = page.evaluate("""async (t) => { const s = performance.now();
                const r = await fetch('/api/v1/pods', {headers: {Authorization: 'Bearer ' + t}}).catch(e => String(e.stack)); if (typeof r === 'string') return -1; await r.json();
                return performance.now() - s; }""", server.token())
            print(f"run {run + 1}: first contentful paint {fcp:.0f} ms; {count} pods in the table {table:.0f} ms "
                  f"after navigation (its LIST sent at {timing[0]}, first byte {timing[1]}, "
                  f"last byte {timing[2]} ms; table built at {render[0]} ms in {render[1]} ms); "
                  f"floor: the browser's fetch + JSON parse of the same LIST {floor:.0f} ms")
            context.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for f in sorted(STATIC.iterdir()) if STATIC.is_dir() else []:
        if f.suffix in (".js", ".css"):
            print(f"bundle {f.name}: {f.stat().st_size / 1024:.1f} KiB")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data", "--disable-scheduler")
        try:
            asyncio.run(create_pods(server, args.pods))
            measure(server, args.pods, args.runs)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
