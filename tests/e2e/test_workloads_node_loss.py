"""Losing a node and draining one: heartbeats stop -> Unknown, tainted, pods recreated elsewhere;
`kubectl drain` evicts through the eviction subresource and never breaks a PodDisruptionBudget.

The server runs with short node timings (grace 3 s, pods evicted 1 s after the taint), set
through the environment the controller settings read.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any

import pytest

from kubelite.client import ApiClient, TooManyRequests
from kubelite.sim import SimCluster, Timings
from tests.helpers import wait
from tests.helpers.cluster import Server, start_server
from tests.helpers.sim import running_sim

# every check lists pods over HTTP: poll every 0.2 s rather than flat out, for up to 25 s
eventually = partial(wait.eventually, timeout=25, interval=0.2)

FAST = Timings(lease_renew_interval=0.5, node_status_interval=1.0)
TIMINGS = ("--node-monitor-grace-period", "3", "--node-monitor-period", "1",
           "--pod-eviction-timeout", "1")


def deployment(name: str, replicas: int) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.0"}]}}}})


def budget(name: str, app: str, min_available: int) -> str:
    return json.dumps({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                       "metadata": {"name": name},
                       "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": app}}}})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("nodeloss") / "data", *TIMINGS)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def cluster(client: ApiClient) -> AsyncIterator[SimCluster]:
    async with running_sim(client, 3, timings=FAST) as sim:
        yield sim


async def kubectl(server: Server, *args: str, input: str | None = None, check: bool = True,
                  timeout: float = 60) -> str:
    result = await asyncio.to_thread(server.kubectl, *args, input=input, check=check, timeout=timeout)
    return result.stdout + result.stderr


def ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


async def live_pods(client: ApiClient, app: str) -> list[dict[str, Any]]:
    items = (await client.list("pods", "default", label_selector=f"app={app}", raw=True)).items
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


async def test_lost_node_pods_are_recreated_elsewhere(
        server: Server, client: ApiClient, cluster: SimCluster) -> None:
    await kubectl(server, "apply", "-f", "-", input=deployment("lost", 6))

    async def spread() -> dict[str, int] | None:
        pods = await live_pods(client, "lost")
        if len(pods) != 6 or not all(ready(p) for p in pods):
            return None
        per: dict[str, int] = {}
        for p in pods:
            per[p["spec"]["nodeName"]] = per.get(p["spec"]["nodeName"], 0) + 1
        return per
    per_node = await eventually(spread, what="6 running pods")
    victim = max(per_node, key=lambda n: per_node[n])
    assert per_node[victim] >= 1
    cluster.pause(victim)

    async def node_unknown() -> bool:
        node = await client.get("nodes", victim, raw=True)
        conds = {c["type"]: c for c in node["status"]["conditions"]}
        taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
        return (conds["Ready"]["status"] == "Unknown"
                and conds["Ready"]["message"] == "Kubelet stopped posting node status."
                and ("node.kubernetes.io/unreachable", "NoExecute") in taints
                and ("node.kubernetes.io/unreachable", "NoSchedule") in taints)
    await eventually(node_unknown, timeout=15, what="the paused node to become Unknown and tainted")
    out = await kubectl(server, "get", "node", victim)
    assert out.splitlines()[1].split()[1] == "NotReady"

    async def recovered() -> bool:
        pods = await live_pods(client, "lost")
        return (len(pods) == 6 and all(ready(p) for p in pods)
                and all(p["spec"]["nodeName"] != victim for p in pods))
    await eventually(recovered, what="6 pods running on the remaining nodes")
    out = await kubectl(server, "get", "deployment", "lost")
    assert out.splitlines()[1].split()[1] == "6/6"

    cluster.resume(victim)

    async def untainted() -> bool:
        node = await client.get("nodes", victim, raw=True)
        return not [t for t in node["spec"].get("taints") or []
                    if t["key"] == "node.kubernetes.io/unreachable"]
    await eventually(untainted, what="the taints to go once the node is back")


async def test_drain_respects_the_disruption_budget(
        server: Server, client: ApiClient, cluster: SimCluster) -> None:
    await kubectl(server, "apply", "-f", "-", input=deployment("guarded", 3))
    await kubectl(server, "apply", "-f", "-", input=budget("guarded", "guarded", 3))

    async def settled() -> bool:
        pods = await live_pods(client, "guarded")
        pdb = await client.get("poddisruptionbudgets", "guarded", "default", raw=True)
        status = pdb.get("status") or {}
        return (len(pods) == 3 and all(ready(p) for p in pods) and status.get("currentHealthy") == 3
                and status.get("expectedPods") == 3)
    await eventually(settled, what="3 pods and the budget's status")
    pdb = await client.get("poddisruptionbudgets", "guarded", "default", raw=True)
    assert pdb["status"]["disruptionsAllowed"] == 0
    assert pdb["status"]["desiredHealthy"] == 3
    out = await kubectl(server, "get", "pdb", "guarded")
    assert out.splitlines()[1].split()[1:4] == ["3", "N/A", "0"]

    pod = (await live_pods(client, "guarded"))[0]
    node = pod["spec"]["nodeName"]
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": pod["metadata"]["name"], "namespace": "default"}}
    with pytest.raises(TooManyRequests) as refused:
        await client.request("POST", client.path("pods", "default", pod["metadata"]["name"], "eviction"),
                             body=eviction)
    status = refused.value.status
    assert (status["code"], status["reason"]) == (429, "TooManyRequests")
    assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert status["details"]["causes"] == [{
        "reason": "DisruptionBudget",
        "message": "The disruption budget guarded needs 3 healthy pods and has 3 currently"}]

    out = await kubectl(server, "drain", node, "--timeout=3s", check=False)
    assert "Cannot evict pod as it would violate the pod's disruption budget." in out
    assert pod["metadata"]["uid"] in {p["metadata"]["uid"] for p in await live_pods(client, "guarded")}

    # Allow one disruption: drain now goes pod by pod, never below two healthy pods.
    await kubectl(server, "patch", "pdb", "guarded", "--type=merge", "-p", '{"spec":{"minAvailable":2}}')
    lowest = 3

    async def watch_health() -> None:
        nonlocal lowest
        while True:
            pods = await live_pods(client, "guarded")
            lowest = min(lowest, sum(1 for p in pods if ready(p)))
            await asyncio.sleep(0.05)
    watcher = asyncio.create_task(watch_health())
    try:
        out = await kubectl(server, "drain", node, "--timeout=40s", timeout=60)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    assert "drained" in out
    assert lowest >= 2
    pods = await live_pods(client, "guarded")
    assert all(p["spec"]["nodeName"] != node for p in pods)
    out = await kubectl(server, "get", "node", node)
    assert "SchedulingDisabled" in out
    await kubectl(server, "uncordon", node)
    out = await kubectl(server, "get", "node", node)
    assert "SchedulingDisabled" not in out
