"""Deployment scale-up and rollout through the whole control plane (figures, never assertions).

Starts `kubelite server` (scheduler and controllers inside), registers simulated nodes in this
process (they heartbeat and report bound pods Running), creates one Deployment and prints:

  scale-up   time from the create to every replica Running and Ready (status.readyReplicas)
  rollout    time from a new image (maxSurge 25%, maxUnavailable 25%) to the rollout being
             complete as `kubectl rollout status` judges it

  job        time from creating a Job of 1,000 completions (parallelism 100, pods that end
             Succeeded at once) to its Complete condition
  daemonset  more simulated nodes join (1,000 in all), then the time from creating a DaemonSet
             to desiredNumberScheduled == numberReady == 1,000 (one Ready pod per node); the
             Deployment's pods are still in place

Defaults are the issue's: 100 nodes, 3,000 replicas (target: scale-up under 20 s).

    .venv/bin/python bench/workloads.py [--nodes 100] [--replicas 3000] [--completions 1000]
                                        [--daemonset-nodes 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubelite.client import ApiClient  # noqa: E402
from kubelite.sim import SimCluster, Timings  # noqa: E402
from kubelite.sim.config import EXIT_CODE_ANNOTATION  # noqa: E402
from tests.helpers.cluster import start_server  # noqa: E402

NAME = "bench-web"


def deployment(replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": NAME},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": NAME}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": NAME}}, "spec": {"containers": [{
                "name": "web", "image": "nginx:1.0",
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}},
        },
    }


def job(completions: int, parallelism: int) -> dict[str, Any]:
    """A Job whose simulated pods end Succeeded as soon as they run."""
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": NAME},
        "spec": {"completions": completions, "parallelism": parallelism, "template": {
            "metadata": {"annotations": {EXIT_CODE_ANNOTATION: "0"}},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "work", "image": "busybox:1.0",
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}},
    }


def daemonset() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": NAME},
        "spec": {"selector": {"matchLabels": {"app": NAME + "-ds"}}, "template": {
            "metadata": {"labels": {"app": NAME + "-ds"}},
            "spec": {"containers": [{"name": "agent", "image": "busybox:1.0",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}},
    }


def daemons_ready(ds: dict[str, Any], nodes: int) -> bool:
    status = ds.get("status") or {}
    return status.get("desiredNumberScheduled") == status.get("numberReady") == nodes


def complete(j: dict[str, Any]) -> bool:
    return any(c.get("type") == "Complete" and c.get("status") == "True"
               for c in (j.get("status") or {}).get("conditions") or [])


def rolled_out(d: dict[str, Any], replicas: int) -> bool:
    """What `kubectl rollout status` waits for."""
    status = d.get("status") or {}
    return (status.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
            and status.get("updatedReplicas", 0) == replicas
            and status.get("replicas", 0) == replicas
            and status.get("availableReplicas", 0) == replicas)


async def wait_for(client: ApiClient, done: Any, timeout: float, kind: str = "deployments") -> float:
    """Seconds until done(object) holds, reading the object every 100 ms."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        d = await client.get(kind, NAME, "default", raw=True)
        if done(d):
            return time.perf_counter() - start
        await asyncio.sleep(0.1)
    d = await client.get(kind, NAME, "default", raw=True)
    raise TimeoutError(f"not done after {timeout:.0f} s: status {d.get('status')}")


async def run_daemonset(client: ApiClient, nodes: int, total: int, timeout: float) -> None:
    """Join nodes up to `total`, then time one DaemonSet to a Ready pod on each of them."""
    more = SimCluster(client, total - nodes, prefix="sim-ds-",
                      timings=Timings(lease_renew_interval=10.0, node_status_interval=60.0))
    try:
        await more.start()
        await client.create("daemonsets", daemonset(), "default", raw=True)
        took = await wait_for(client, lambda d: daemons_ready(d, total), timeout, kind="daemonsets")
        print(f"daemonset: {total:,} nodes each with a Ready daemon pod "
              f"(desiredNumberScheduled == numberReady) in {took:.1f} s ({total / took:,.0f} pods/s)")
    finally:
        await more.stop()


async def run(nodes: int, replicas: int, completions: int, ds_nodes: int, timeout: float) -> None:
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-workloads-") as tmp:
        server = start_server(Path(tmp) / "data", "--cluster-cidr", "10.0.0.0/8")
        client = ApiClient.from_kubeconfig(str(server.kubeconfig))
        sim = SimCluster(client, nodes, pods=max(110, replicas // nodes * 3),
                         timings=Timings(lease_renew_interval=10.0, node_status_interval=60.0))
        try:
            await sim.start()
            print(f"{nodes} simulated nodes registered; creating a Deployment of {replicas:,} replicas")
            await client.create("deployments", deployment(replicas), "default", raw=True)
            ready = await wait_for(
                client, lambda d: (d.get("status") or {}).get("readyReplicas", 0) == replicas, timeout)
            print(f"scale-up: {replicas:,} replicas Running and Ready in {ready:.1f} s "
                  f"({replicas / ready:,.0f} pods/s; target < 20 s)")
            await wait_for(client, lambda d: rolled_out(d, replicas), timeout)
            await client.patch("deployments", NAME, "default", {"spec": {"template": {"spec": {
                "containers": [{"name": "web", "image": "nginx:2.0"}]}}}},
                patch_type="strategic", raw=True)
            took = await wait_for(client, lambda d: rolled_out(d, replicas), timeout)
            print(f"rollout:  {replicas:,} replicas replaced (maxSurge 25%, maxUnavailable 25%) "
                  f"in {took:.1f} s")
            if completions:
                parallelism = min(100, completions)
                await client.create("jobs", job(completions, parallelism), "default", raw=True)
                took = await wait_for(client, complete, timeout, kind="jobs")
                st = (await client.get("jobs", NAME, "default", raw=True))["status"]
                print(f"job:      {completions:,} completions (parallelism {parallelism}) "
                      f"Complete in {took:.1f} s ({completions / took:,.0f} pods/s; "
                      f"succeeded {st.get('succeeded')}, failed {st.get('failed')})")
            if ds_nodes:
                await run_daemonset(client, nodes, max(ds_nodes, nodes), timeout)
        finally:
            await sim.stop()
            await client.close()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=3000)
    parser.add_argument("--completions", type=int, default=1000, help="0: no Job phase")
    parser.add_argument("--daemonset-nodes", type=int, default=1000,
                        help="nodes in all for the DaemonSet phase (0: none)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds per phase")
    args = parser.parse_args()
    asyncio.run(run(args.nodes, args.replicas, args.completions, args.daemonset_nodes, args.timeout))


if __name__ == "__main__":
    main()
