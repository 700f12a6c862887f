"""Pod start-up latency on one real node: create request -> Running and Ready, via a watch.

Prints p50/p99 for pods created one after another and the time for N pods created at once,
the agent's RSS with those pods, and beside them `podman kube play` and the bare runc floor
when those tools are installed. Figures only, no assertions.

    .venv/bin/python bench/pod_startup.py [--sequential 30] [--parallel 110] [--profile]

`--profile` samples the agent with py-spy during each run and prints where its time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.probes import py_spy_top  # noqa: E402
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


@dataclass
class Timings:
    """Seconds after the create request at which the watch saw each step of one pod."""

    bound: float = 0.0  # spec.nodeName set by the scheduler
    seen: float = 0.0  # the kubelet's first status write (hostIP appears)
    ready: float = 0.0  # Running and Ready


async def start_pods(client: ApiClient, names: list[str]) -> dict[str, Timings]:
    """Create the pods (all at once) and return when the watch saw each step of each."""
    listing = await client.list("pods", "default", raw=True)
    started: dict[str, float] = {}
    times: dict[str, Timings] = {}
    done: set[str] = set()

    async def watch() -> None:
        async for _type, pod in client.watch("pods", "default", raw=True,
                                             resource_version=listing.resource_version):
            name = pod.get("metadata", {}).get("name")
            if name not in started or name in done:
                continue
            now = time.perf_counter() - started[name]
            t = times.setdefault(name, Timings())
            if not t.bound and (pod.get("spec") or {}).get("nodeName"):
                t.bound = now
            if not t.seen and (pod.get("status") or {}).get("hostIP"):
                t.seen = now
            if ready(pod):
                t.ready = now
                done.add(name)
                if len(done) == len(names):
                    return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.05)

    async def create(name: str) -> None:
        started[name] = time.perf_counter()
        await client.create("pods", manifest(name), "default", raw=True)

    await asyncio.gather(*(create(n) for n in names))
    await asyncio.wait_for(watcher, 180)
    return times


async def delete_all(client: ApiClient) -> None:
    """Delete every pod and wait until they are gone (a node holds at most 110)."""
    listing = await client.list("pods", "default", raw=True)
    names = [p["metadata"]["name"] for p in listing.items]
    await asyncio.gather(*(client.delete("pods", n, "default", grace_period=0) for n in names))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not (await client.list("pods", "default", raw=True)).items:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("pods were not deleted within 120 s")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(values: list[float]) -> str:
    return f"p50 {pct(values, 50) * 1000:.0f} ms, p99 {pct(values, 99) * 1000:.0f} ms"


async def profiled(pid: int | None, seconds: float, work: Any) -> Any:
    """Await `work` (a coroutine); with a pid, sample that process with py-spy for the first
    `seconds` meanwhile and print where its time went."""
    if pid is None:
        return await work
    spy = asyncio.create_task(asyncio.to_thread(py_spy_top, pid, seconds, 20))
    result = await work
    await spy
    return result


async def bench(cluster: NodeCluster, sequential: int, parallel: int, profile: bool) -> None:
    client = ApiClient(cluster.server.url, token=cluster.server.token(),
                       ca_file=str(cluster.server.data_dir / "tls" / "ca.crt"))
    try:
        await start_pods(client, ["warm"])  # pulls the image once
        assert cluster.agent.process is not None
        spied = cluster.agent.process.pid if profile else None
        seq: list[Timings] = []

        async def one_by_one() -> None:
            for i in range(sequential):
                seq.extend((await start_pods(client, [f"seq-{i}"])).values())

        await profiled(spied, max(1.0, sequential * 0.2), one_by_one())
        print(f"kubelite, {sequential} pods one at a time, create -> Ready: "
              f"{summary([t.ready for t in seq])}")
        print(f"    create -> bound {summary([t.bound for t in seq])}; "
              f"bound -> first kubelet status {summary([t.seen - t.bound for t in seq])}; "
              f"first status -> Ready {summary([t.ready - t.seen for t in seq])}")
        await delete_all(client)
        agent_pid = cluster.agent.process.pid
        cpu0 = cpu_seconds(agent_pid)
        t0 = time.perf_counter()
        many = await profiled(spied, 10, start_pods(client, [f"par-{i}" for i in range(parallel)]))
        total = time.perf_counter() - t0
        print(f"kubelite, {parallel} pods at once: all Ready in {total:.2f} s "
              f"({summary([t.ready for t in many.values()])}); "
              f"agent CPU {cpu_seconds(agent_pid) - cpu0:.1f} s")
        print(f"agent RSS with {parallel} pods: {rss_mb(agent_pid):.0f} MB")
        await delete_all(client)
    finally:
        await client.close()


def ensure_podman() -> bool:
    """podman, installed with apt-get when missing (we are root); False when it cannot be."""
    if shutil.which("podman"):
        return True
    result = subprocess.run(["apt-get", "install", "-y", "podman"], capture_output=True,
                            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return result.returncode == 0 and shutil.which("podman") is not None


def podman_figures(layout_dir: Path, runs: int) -> None:
    """`podman kube play` (runc runtime) of the same manifest: start to return, and to Ready."""
    if not ensure_podman():
        print("podman kube play: podman unavailable (apt-get install podman failed), not measured")
        return
    podman = ["podman", "--runtime", "runc"]
    image = "docker.io/library/busybox:latest"
    pulled = subprocess.run([*podman, "pull", "-q", f"oci:{layout_dir}"], capture_output=True, text=True)
    if pulled.returncode != 0:
        reason = (pulled.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"podman kube play: not measured (podman could not load the image: {reason})")
        return
    image_id = pulled.stdout.split()[-1]
    subprocess.run([*podman, "tag", image_id, image], check=True, capture_output=True)
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        # podman's default rlimits (nofile 1048576...) exceed what some hosts allow.
        conf = Path(tmp) / "containers.conf"
        nofile, nproc = (resource.getrlimit(r)[1] for r in (resource.RLIMIT_NOFILE,
                                                            resource.RLIMIT_NPROC))
        conf.write_text(f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", '
                        f'"nproc={nproc}:{nproc}"]\n')
        env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        for i in range(runs):
            path = Path(tmp) / f"pod-{i}.yaml"
            path.write_text(json.dumps(manifest(f"podman-bench-{i}")))
            t0 = time.perf_counter()
            played = subprocess.run([*podman, "kube", "play", str(path)], capture_output=True,
                                    text=True, env=env)
            took = time.perf_counter() - t0
            subprocess.run([*podman, "kube", "down", str(path)], capture_output=True, env=env)
            if played.returncode != 0:
                error = (played.stderr.strip().splitlines() or ["?"])[-1]
                print(f"podman kube play: fails on this machine, not measured ({error}; "
                      f"runc said: {_runc_error(played.stderr)})")
                break
            times.append(took)
    subprocess.run([*podman, "rmi", "-f", image], capture_output=True)
    if times:
        print(f"podman kube play (runc), {runs} pods one at a time, until it returns: "
              f"{summary(times)}")


def _runc_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if "runc create failed" in line:
            return line.split("runc create failed:", 1)[1].strip().rstrip("]")
    return "no runc error"


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
    parser.add_argument("--podman-runs", type=int, default=10)
    parser.add_argument("--profile", action="store_true",
                        help="sample the agent with py-spy during both runs")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kl-bench-"))
    with running_node(root) as cluster:
        asyncio.run(bench(cluster, args.sequential, args.parallel, args.profile))
    runc_floor()
    podman_figures(root / "image", args.podman_runs)


if __name__ == "__main__":
    main()
