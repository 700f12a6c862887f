"""Pod start-up latency on one real node: create request -> Running and Ready, via a watch.

Prints p50/p99 for pods created one after another and the time for N pods created at once,
the agent's RSS with those pods, and beside them `podman kube play` and the bare runc floor
when those tools are installed. Figures only, no assertions.

    .venv/bin/python bench/pod_startup.py [--sequential 30] [--parallel 110]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
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


def manifest(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                {"name": "web", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
                 "command": ["httpd", "-f", "-p", "8080", "-h", "/www"]},
                {"name": "side", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
                 "command": ["sleep", "3600"]}]}}


def ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


async def start_pods(client: ApiClient, names: list[str]) -> dict[str, float]:
    """Create the pods (all at once) and return each one's create->Ready seconds."""
    listing = await client.list("pods", "default", raw=True)
    started: dict[str, float] = {}
    done: dict[str, float] = {}

    async def watch() -> None:
        async for _type, pod in client.watch("pods", "default", raw=True,
                                             resource_version=listing.resource_version):
            name = pod.get("metadata", {}).get("name")
            if name in started and name not in done and ready(pod):
                done[name] = time.perf_counter() - started[name]
                if len(done) == len(names):
                    return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.05)

    async def create(name: str) -> None:
        started[name] = time.perf_counter()
        await client.create("pods", manifest(name), "default", raw=True)

    await asyncio.gather(*(create(n) for n in names))
    await asyncio.wait_for(watcher, 120)
    return done


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def bench(cluster: NodeCluster, sequential: int, parallel: int) -> None:
    client = ApiClient(cluster.server.url, token=cluster.server.token(),
                       ca_file=str(cluster.server.data_dir / "tls" / "ca.crt"))
    try:
        await start_pods(client, ["warm"])  # pulls the image once
        seq: list[float] = []
        for i in range(sequential):
            seq += (await start_pods(client, [f"seq-{i}"])).values()
        print(f"kubelite, {sequential} pods one at a time: p50 {pct(seq, 50) * 1000:.0f} ms, "
              f"p99 {pct(seq, 99) * 1000:.0f} ms")
        for i in range(sequential):
            await client.delete("pods", f"seq-{i}", "default", grace_period=0)
        t0 = time.perf_counter()
        many = await start_pods(client, [f"par-{i}" for i in range(parallel)])
        total = time.perf_counter() - t0
        print(f"kubelite, {parallel} pods at once: all Ready in {total:.2f} s "
              f"(p50 {pct(list(many.values()), 50):.2f} s, p99 {pct(list(many.values()), 99):.2f} s)")
        assert cluster.agent.process is not None
        print(f"agent RSS with {parallel + 1} pods: {rss_mb(cluster.agent.process.pid):.0f} MB")
    finally:
        await client.close()


def podman_figures(runs: int = 5) -> None:
    if shutil.which("podman") is None:
        print("podman kube play: podman not installed (apt-get install podman), not measured")
        return
    print("podman kube play: installed, but not measured by this script yet")


def runc_floor(runs: int = 10) -> None:
    """`runc run -d` of a busybox rootfs: the runtime's own floor, without any pod machinery."""
    tmp = Path(tempfile.mkdtemp(prefix="kl-floor-"))
    try:
        rootfs = tmp / "rootfs"
        for d in ("bin", "sbin", "usr/bin", "usr/sbin"):
            (rootfs / d).mkdir(parents=True)
        shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
        subprocess.run(["chroot", str(rootfs), "/bin/busybox", "--install", "-s"], check=True,
                       capture_output=True)
        spec = subprocess.run(["runc", "spec", "--rootless"], cwd=tmp, capture_output=True)
        if spec.returncode != 0:
            subprocess.run(["runc", "spec"], cwd=tmp, check=True)
        import json

        config = json.loads((tmp / "config.json").read_text())
        config["process"]["terminal"] = False
        config["process"]["args"] = ["sleep", "60"]
        (tmp / "config.json").write_text(json.dumps(config))
        root = tmp / "state"
        times = []
        for i in range(runs):
            t0 = time.perf_counter()
            subprocess.run(["runc", "--root", str(root), "run", "-d", "--bundle", str(tmp),
                            f"floor{i}"], check=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
            subprocess.run(["runc", "--root", str(root), "kill", f"floor{i}", "KILL"])
            subprocess.run(["runc", "--root", str(root), "delete", "-f", f"floor{i}"])
        print(f"bare runc run -d (one container): p50 {statistics.median(times) * 1000:.0f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sequential", type=int, default=30)
    parser.add_argument("--parallel", type=int, default=110)
    args = parser.parse_args()
    with running_node(Path(tempfile.mkdtemp(prefix="kl-bench-"))) as cluster:
        asyncio.run(bench(cluster, args.sequential, args.parallel))
    runc_floor()
    podman_figures()


if __name__ == "__main__":
    main()
