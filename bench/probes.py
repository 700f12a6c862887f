"""Probes at scale on one real node: 100 pods with liveness and readiness probes every second.

Prints the agent's CPU share of one core while the probes run (target: under 10%), and, for
readiness flips made by removing or restoring the file a pod's readiness probe GETs, the delay
from the flip to the EndpointSlice change and to the service proxy's nft rules change (target:
p99 under 1.5 s; a 1 s probe period is part of it). Figures only, no assertions.

    .venv/bin/python bench/probes.py [--pods 100] [--flips 20] [--cpu-seconds 20]
                                     [--profile SECONDS]

`--profile` then samples the agent with py-spy (from .venv) and prints where its time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kubelite.client import ApiClient  # noqa: E402
from tests.helpers.node import NodeCluster, running_node  # noqa: E402

SERVE = "hostname > /www/index.html && touch /www/ready.html && exec httpd -f -p 8080 -h /www"


def manifest(name: str) -> dict[str, Any]:
    def probe(path: str) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": 8080}, "periodSeconds": 1, "failureThreshold": 1}

    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "bench-probes"}},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                "name": "web", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", SERVE],
                "livenessProbe": {**probe("/index.html"), "failureThreshold": 3},
                "readinessProbe": probe("/ready.html")}]}}


SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bench-probes"},
           "spec": {"selector": {"app": "bench-probes"}, "ports": [{"port": 80, "targetPort": 8080}]}}


def ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    return (f"p50 {statistics.median(values) * 1000:7.0f} ms   p99 {pct(values, 99) * 1000:7.0f} ms"
            f"   max {max(values) * 1000:7.0f} ms   (n={len(values)})")


def slice_ready(client_slices: list[dict[str, Any]], ip: str) -> bool | None:
    for es in client_slices:
        for ep in es.get("endpoints") or []:
            if ip in ep.get("addresses") or []:
                return bool((ep.get("conditions") or {}).get("ready"))
    return None


def nft_has(table: str, ip: str) -> bool:
    out = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True).stdout
    return f"dnat to {ip}:8080" in out


async def wait_until(check: Any, timeout: float = 15.0) -> float:
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            raise TimeoutError("no change seen")
        await asyncio.sleep(0.01)
    return time.monotonic()


def py_spy_top(pid: int, seconds: float, rows: int = 25) -> None:
    """Sample the agent with py-spy and print the functions with the most samples, by own
    time and by time including callees."""
    spy = Path(sys.executable).parent / "py-spy"
    with tempfile.NamedTemporaryFile(suffix=".txt") as out:
        subprocess.run([str(spy), "record", "--pid", str(pid), "--duration", str(int(seconds)),
                        "--format", "raw", "--rate", "200", "--output", out.name, "--nonblocking"],
                       capture_output=True, check=True)
        stacks = Path(out.name).read_text().splitlines()
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in stacks:
        stack, _, count = line.rpartition(" ")
        frames = [f.split(" (")[0] + " " + f.split("/")[-1].rstrip(")") for f in stack.split(";")]
        n = int(count)
        samples += n
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + n
    print(f"py-spy: {samples} samples over {seconds:.0f} s")
    for title, table in (("own", own), ("with callees", total)):
        print(f"-- top by {title}")
        for frame, n in sorted(table.items(), key=lambda kv: -kv[1])[:rows]:
            print(f"{n * 100 / max(samples, 1):6.1f}%  {frame}")


async def bench(cluster: NodeCluster, pods: int, flips: int, cpu_window: float,
                profile: float = 0.0) -> None:
    client = ApiClient.from_kubeconfig(str(cluster.server.kubeconfig))
    table = f"kubelite_{cluster.cluster_id}"
    rootfs = cluster.agent.data_dir / "agent" / "rootfs"
    try:
        names = [f"probed-{i}" for i in range(pods)]
        await asyncio.gather(*(client.create("pods", manifest(n), "default", raw=True) for n in names))
        await client.create("services", SERVICE, "default", raw=True)
        started = time.monotonic()
        while True:
            listing = (await client.list("pods", "default", raw=True)).items
            if sum(ready(p) for p in listing if p["metadata"]["name"] in names) == pods:
                break
            if time.monotonic() - started > 600:
                raise TimeoutError("pods did not all get ready")
            await asyncio.sleep(1)
        print(f"{pods} pods Running and Ready in {time.monotonic() - started:.1f} s")
        assert cluster.agent.process is not None
        pid = cluster.agent.process.pid
        await asyncio.sleep(3)
        before, t0 = cpu_seconds(pid), time.monotonic()
        await asyncio.sleep(cpu_window)
        share = (cpu_seconds(pid) - before) / (time.monotonic() - t0)
        print(f"agent CPU with {2 * pods} probes/s: {share * 100:.1f}% of one core "
              f"(target < 10%)")
        if profile:
            await asyncio.to_thread(py_spy_top, pid, profile)

        by_name = {p["metadata"]["name"]: p for p in listing}
        to_slice: list[float] = []
        to_rules: list[float] = []
        for i in range(flips):
            pod = by_name[names[i % pods]]
            ip = pod["status"]["podIP"]
            cid = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
            marker = rootfs / cid / "merged" / "www" / "ready.html"
            make_ready = i % 2 == 1
            await asyncio.sleep(0.3 + (i % 7) / 10)  # land at different points of the period
            flipped = time.monotonic()
            if make_ready:
                marker.touch()
            else:
                marker.unlink()

            async def sliced(ip: str = ip, want: bool = make_ready) -> bool:
                slices = (await client.list("endpointslices", "default", raw=True)).items
                return slice_ready(slices, ip) is want

            async def ruled(ip: str = ip, want: bool = make_ready) -> bool:
                return await asyncio.to_thread(nft_has, table, ip) is want

            seen_slice, seen_rules = await asyncio.gather(wait_until(sliced), wait_until(ruled))
            to_slice.append(seen_slice - flipped)
            to_rules.append(seen_rules - flipped)
            if not make_ready and i == flips - 1:
                marker.touch()
        print("readiness flip -> EndpointSlice:", summary(to_slice))
        print("readiness flip -> nft rules:     ", summary(to_rules), "(target p99 < 1.5 s)")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--flips", type=int, default=20)
    parser.add_argument("--cpu-seconds", type=float, default=20.0)
    parser.add_argument("--profile", type=float, default=0.0, metavar="SECONDS",
                        help="then sample the agent with py-spy this long")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-probes-") as tmp, \
            running_node(Path(tmp)) as cluster:
        asyncio.run(bench(cluster, args.pods, args.flips, args.cpu_seconds, args.profile))


if __name__ == "__main__":
    main()
