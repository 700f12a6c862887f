"""Deployments on three simulated nodes, driven by the real kubectl against a real server:
spread, scale, a rolling update watched pod by pod, rollback, history, and cascading deletes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any

import pytest

from kubelite.client import ApiClient
from kubelite.sim import SimCluster, Timings
from tests.helpers import wait
from tests.helpers.cluster import Server, start_server
from tests.helpers.sim import running_sim

# every check lists pods over HTTP: poll every 0.2 s rather than flat out, for up to 20 s
eventually = partial(wait.eventually, timeout=20, interval=0.2)

FAST = Timings(lease_renew_interval=0.5, node_status_interval=2.0)


def deployment(name: str, replicas: int, image: str = "nginx:1.0", *, surge: int = 1,
               unavailable: int = 1) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "web", "image": image}]}}}})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("workloads") / "data")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def cluster(client: ApiClient) -> AsyncIterator[SimCluster]:
    async with running_sim(client, 3, timings=FAST) as sim:
        yield sim


async def kubectl(server: Server, *args: str, input: str | None = None, check: bool = True) -> str:
    result = await asyncio.to_thread(server.kubectl, *args, input=input, check=check)
    return result.stdout + result.stderr


async def pods_of(client: ApiClient, app: str) -> list[dict[str, Any]]:
    return (await client.list("pods", "default", label_selector=f"app={app}", raw=True)).items


def live(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


async def running_per_node(client: ApiClient, app: str, total: int) -> dict[str, int] | None:
    pods = live(await pods_of(client, app))
    if len(pods) != total or not all(ready(p) for p in pods):
        return None
    per_node: dict[str, int] = {}
    for p in pods:
        per_node[p["spec"]["nodeName"]] = per_node.get(p["spec"]["nodeName"], 0) + 1
    return per_node


async def test_six_replicas_spread_two_per_node_then_scale_to_nine_and_back_to_three(
        server: Server, client: ApiClient, cluster: SimCluster) -> None:
    await kubectl(server, "apply", "-f", "-", input=deployment("spread", 6))
    per_node = await eventually(lambda: running_per_node(client, "spread", 6), what="6 running pods")
    assert sorted(per_node.values()) == [2, 2, 2]
    await kubectl(server, "rollout", "status", "deployment/spread", "--timeout=20s")

    out = await kubectl(server, "scale", "deployment/spread", "--replicas=9")
    assert "deployment.apps/spread scaled" in out
    per_node = await eventually(lambda: running_per_node(client, "spread", 9), what="9 running pods")
    assert sorted(per_node.values()) == [3, 3, 3]

    await kubectl(server, "scale", "deployment/spread", "--replicas=3")
    await eventually(lambda: running_per_node(client, "spread", 3), what="3 running pods")
    rs = await client.list("replicasets", "default", label_selector="app=spread", raw=True)
    assert len(rs.items) == 1
    status = rs.items[0]["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (3, 3, 3)
    assert status["fullyLabeledReplicas"] == 3
    assert status["observedGeneration"] == rs.items[0]["metadata"]["generation"]
    out = await kubectl(server, "get", "deployment", "spread")
    assert out.splitlines()[1].split()[1:4] == ["3/3", "3", "3"]


async def test_set_image_never_exceeds_max_unavailable_and_undo_returns(
        server: Server, client: ApiClient, cluster: SimCluster) -> None:
    await kubectl(server, "apply", "-f", "-", input=deployment("roll", 6, surge=1, unavailable=1))
    await eventually(lambda: running_per_node(client, "roll", 6), what="6 running pods")
    await kubectl(server, "rollout", "status", "deployment/roll", "--timeout=20s")

    pods: dict[str, dict[str, Any]] = {p["metadata"]["name"]: p for p in await pods_of(client, "roll")}
    lowest_available = len(pods)
    highest_total = len(pods)
    steps = 0

    async def watch() -> None:
        nonlocal lowest_available, highest_total, steps
        listing = await client.list("pods", "default", label_selector="app=roll", raw=True)
        async for etype, pod in client.watch("pods", "default", label_selector="app=roll",
                                             resource_version=listing.resource_version, raw=True):
            name = pod["metadata"]["name"]
            if etype == "DELETED":
                pods.pop(name, None)
            elif etype in ("ADDED", "MODIFIED"):
                pods[name] = pod
            else:
                continue
            steps += 1
            current = live(list(pods.values()))
            lowest_available = min(lowest_available, sum(1 for p in current if ready(p)))
            highest_total = max(highest_total, len(current))

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.3)
    try:
        await kubectl(server, "set", "image", "deployment/roll", "web=nginx:2.0")
        out = await kubectl(server, "rollout", "status", "deployment/roll", "--timeout=30s")
        assert 'deployment "roll" successfully rolled out' in out
        await eventually(lambda: running_per_node(client, "roll", 6), what="6 new pods")
        await asyncio.sleep(0.3)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    assert steps > 12  # the watch saw the rollout, pod by pod
    assert lowest_available >= 5, f"{6 - lowest_available} pods were unavailable at once"
    assert highest_total <= 7, f"{highest_total} pods existed at once (maxSurge 1)"
    images = {p["spec"]["containers"][0]["image"] for p in live(await pods_of(client, "roll"))}
    assert images == {"nginx:2.0"}

    history = await kubectl(server, "rollout", "history", "deployment/roll")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    d = await client.get("deployments", "roll", "default", raw=True)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"

    out = await kubectl(server, "rollout", "undo", "deployment/roll")
    assert "rolled back" in out
    await kubectl(server, "rollout", "status", "deployment/roll", "--timeout=30s")
    await eventually(lambda: running_per_node(client, "roll", 6), what="6 pods after undo")
    images = {p["spec"]["containers"][0]["image"] for p in live(await pods_of(client, "roll"))}
    assert images == {"nginx:1.0"}
    sets = (await client.list("replicasets", "default", label_selector="app=roll", raw=True)).items
    assert len(sets) == 2  # the first ReplicaSet came back, as revision 3
    revisions = {s["spec"]["template"]["spec"]["containers"][0]["image"]:
                 s["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for s in sets}
    assert revisions == {"nginx:1.0": "3", "nginx:2.0": "2"}
    d = await client.get("deployments", "roll", "default", raw=True)
    progressing = [c for c in d["status"]["conditions"] if c["type"] == "Progressing"][0]
    assert progressing["reason"] == "NewReplicaSetAvailable"


async def test_pause_resume_and_restart(server: Server, client: ApiClient, cluster: SimCluster) -> None:
    await kubectl(server, "apply", "-f", "-", input=deployment("paused", 2))
    await eventually(lambda: running_per_node(client, "paused", 2), what="2 pods")
    await kubectl(server, "rollout", "pause", "deployment/paused")
    await kubectl(server, "set", "image", "deployment/paused", "web=nginx:3.0")
    await asyncio.sleep(1.0)
    sets = (await client.list("replicasets", "default", label_selector="app=paused", raw=True)).items
    assert len(sets) == 1  # paused: no new ReplicaSet
    d = await client.get("deployments", "paused", "default", raw=True)
    progressing = [c for c in d["status"]["conditions"] if c["type"] == "Progressing"][0]
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")
    await kubectl(server, "rollout", "resume", "deployment/paused")
    await kubectl(server, "rollout", "status", "deployment/paused", "--timeout=20s")
    await kubectl(server, "rollout", "restart", "deployment/paused")
    await kubectl(server, "rollout", "status", "deployment/paused", "--timeout=20s")
    sets = (await client.list("replicasets", "default", label_selector="app=paused", raw=True)).items
    assert len(sets) == 3


async def test_delete_cascades_and_orphan_keeps_pods(
        server: Server, client: ApiClient, cluster: SimCluster) -> None:
    await kubectl(server, "apply", "-f", "-", input=deployment("gone", 3))
    await eventually(lambda: running_per_node(client, "gone", 3), what="3 pods")
    await kubectl(server, "delete", "deployment", "gone")

    async def all_gone() -> bool:
        sets = await client.list("replicasets", "default", label_selector="app=gone", raw=True)
        return not sets.items and not await pods_of(client, "gone")
    await eventually(all_gone, what="ReplicaSets and pods of a deleted Deployment to go")

    await kubectl(server, "apply", "-f", "-", input=deployment("kept", 3))
    await eventually(lambda: running_per_node(client, "kept", 3), what="3 pods")
    before = {p["metadata"]["uid"] for p in await pods_of(client, "kept")}
    await kubectl(server, "delete", "deployment", "kept", "--cascade=orphan")

    async def orphaned() -> bool:
        sets = (await client.list("replicasets", "default", label_selector="app=kept", raw=True)).items
        return len(sets) == 1 and not sets[0]["metadata"].get("ownerReferences")
    await eventually(orphaned, what="the ReplicaSet to lose its owner")
    out = await kubectl(server, "get", "deployment", "kept", check=False)
    assert "NotFound" in out
    await asyncio.sleep(1.0)
    after = {p["metadata"]["uid"] for p in live(await pods_of(client, "kept"))}
    assert after == before  # the same pods still run

    await kubectl(server, "apply", "-f", "-", input=deployment("fg", 2))
    await eventually(lambda: running_per_node(client, "fg", 2), what="2 pods")
    await kubectl(server, "delete", "deployment", "fg", "--cascade=foreground", "--timeout=20s")

    async def fg_gone() -> bool:
        sets = await client.list("replicasets", "default", label_selector="app=fg", raw=True)
        return not sets.items and not await pods_of(client, "fg")
    await eventually(fg_gone, what="foreground deletion to finish")


async def test_replicaset_replaces_a_deleted_pod_and_adopts_an_orphan(
        server: Server, client: ApiClient, cluster: SimCluster) -> None:
    await kubectl(server, "apply", "-f", "-", input=deployment("heal", 2))
    await eventually(lambda: running_per_node(client, "heal", 2), what="2 pods")
    victim = (await pods_of(client, "heal"))[0]["metadata"]["name"]
    await kubectl(server, "delete", "pod", victim)
    await eventually(lambda: running_per_node(client, "heal", 2), what="a replacement pod")
    names = {p["metadata"]["name"] for p in await pods_of(client, "heal")}
    assert victim not in names

    rs = (await client.list("replicasets", "default", label_selector="app=heal", raw=True)).items[0]
    labels = rs["spec"]["selector"]["matchLabels"]
    orphan = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "heal-orphan", "labels": labels},
              "spec": {"containers": [{"name": "web", "image": "nginx:1.0"}]}}
    await client.create("pods", orphan, "default", raw=True)

    async def adopted_and_trimmed() -> bool:
        pods = live(await pods_of(client, "heal"))
        owned = [p for p in pods if p["metadata"].get("ownerReferences")]
        return len(pods) == 2 and len(owned) == 2
    await eventually(adopted_and_trimmed, what="the orphan adopted and one pod too many deleted")
