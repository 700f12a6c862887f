"""WordPress figures: requests/s and latency of the front page through the Ingress with 3
WordPress replicas beside 1 replica, in the same run. Printed, never asserted. Run as root:

    python bench/wordpress.py [--seconds 20] [--rounds 2] [--concurrency 8]

Three machines (network namespaces, tests/helpers/machines.py) run the example of
examples/wordpress with its images built from Debian's packages (cached after the first run),
minus the HorizontalPodAutoscaler (it would undo the scaling). The site is installed, then the
Deployment is scaled between 3 and 1 replicas in interleaved rounds (medians shown); each round
sends `GET /` from `--concurrency` threads of this process, spread over the three machines'
port 80, on keep-alive connections, for `--seconds`. Every answer must be a 200 with the site's
title; anything else counts as an error. PHP renders each page, so the figures are those of a
2-core machine running three servers, MariaDB, three agents and this client at once.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.machines import MachineCluster, machine_cluster  # noqa: E402
from tests.helpers.wait import until  # noqa: E402
from tests.helpers.wordpress_site import install_site, manifests, push_example_images  # noqa: E402

TITLE = "kubelite site"


def _ready_replicas(mc: MachineCluster) -> int:
    dep = json.loads(mc.server.kubectl("get", "deployment", "wordpress", "-o", "json").stdout)
    status = dep.get("status") or {}
    return int(status.get("readyReplicas") or 0) if status.get("replicas") == dep["spec"]["replicas"] else -1


def scale(mc: MachineCluster, replicas: int) -> None:
    mc.server.kubectl("scale", "deployment", "wordpress", f"--replicas={replicas}")
    until(lambda: _ready_replicas(mc) == replicas, timeout=600, what=f"{replicas} ready replicas")
    time.sleep(3)  # the Ingress reloads with the endpoints


def load(addresses: list[str], seconds: float, concurrency: int) -> tuple[float, list[float], int]:
    """Requests/s, latencies (s) and errors of `concurrency` keep-alive clients for `seconds`."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    end = time.perf_counter() + seconds

    def client(i: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection(addresses[i % len(addresses)], 80, timeout=30)
        while time.perf_counter() < end:
            t = time.perf_counter()
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                ok = resp.status == 200 and TITLE in resp.read().decode(errors="replace")
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(addresses[i % len(addresses)], 80, timeout=30)
            with lock:
                if ok:
                    latencies.append(time.perf_counter() - t)
                else:
                    errors += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - start), latencies, errors


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-wordpress-") as tmp, \
            machine_cluster(Path(tmp), 3) as mc:
        print("building (or reusing) the images and starting three machines...", file=sys.stderr)
        push_example_images(mc.registry.url)
        for m in mc.machines:
            mc.join(m)
        mc.server.kubectl("apply", "-f", "-", input=manifests(
            keep=lambda d: d["kind"] != "HorizontalPodAutoscaler"))
        until(lambda: _ready_replicas(mc) == 3, timeout=900, what="WordPress ready")
        addresses = [m.address for m in mc.machines]
        until(lambda: "Success!" in install_site(f"http://{addresses[0]}", title=TITLE), timeout=120,
              what="the site installed")
        results: dict[int, list[tuple[float, float, float, int]]] = {3: [], 1: []}
        for r in range(args.rounds):
            for replicas in (3, 1):
                scale(mc, replicas)
                rate, lat, errors = load(addresses, args.seconds, args.concurrency)
                lat.sort()
                p50 = lat[len(lat) // 2] if lat else float("nan")
                p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
                results[replicas].append((rate, p50, p99, errors))
                print(f"round {r + 1}: {replicas} replica(s): {rate:.1f} req/s, p50 {p50 * 1000:.0f} ms, "
                      f"p99 {p99 * 1000:.0f} ms, {errors} errors", file=sys.stderr)
        print(f"\nWordPress front page through the Ingress, {args.concurrency} keep-alive clients over "
              f"3 machines, {args.seconds:g} s x {args.rounds} rounds (medians)")
        print(f"{'replicas':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for replicas, rows in results.items():
            rate = statistics.median(r[0] for r in rows)
            p50 = statistics.median(r[1] for r in rows) * 1000
            p99 = statistics.median(r[2] for r in rows) * 1000
            print(f"{replicas:>9} {rate:>8.1f} {p50:>8.0f} {p99:>8.0f} {sum(r[3] for r in rows):>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
