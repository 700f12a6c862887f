"""A user creates pods with kubectl and the built-in scheduler places them on simulated nodes
exactly where the rules allow; refusals are explained in `kubectl describe` and by
`kubelite explain-schedule`."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.client import ApiClient
from kubelite.sim import SimCluster
from tests.helpers.cluster import Server
from tests.helpers.sim import running_sim
from tests.helpers.wait import eventually

_prefixes = itertools.count(1)


@pytest.fixture
async def nodes(client: ApiClient) -> AsyncIterator[SimCluster]:
    """Three fresh simulated nodes (names unique to the test), deleted afterwards."""
    async with running_sim(client, 3, prefix=f"t{next(_prefixes)}-") as sim:
        yield sim


@pytest.fixture
async def ns(server: Server) -> str:
    """A namespace of the test's own, so spreading never counts another test's pods."""
    name = f"sched-{next(_prefixes)}"
    await kubectl(server, "create", "namespace", name)
    return name


async def kubectl(server: Server, *args: str, input: str | None = None,
                  check: bool = True) -> subprocess.CompletedProcess[str]:
    """kubectl in a thread, so the simulated kubelets keep running meanwhile."""
    return await asyncio.to_thread(server.kubectl, *args, input=input, check=check)


def pod(name: str, labels: dict[str, str] | None = None, cpu: str | None = None,
        **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "busybox"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    if "ports" in spec:
        container["ports"] = spec.pop("ports")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [container], **spec}}


async def apply(server: Server, ns: str, *objects: dict[str, Any]) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    await kubectl(server, "apply", "-n", ns, "-f", "-", input=body)


async def placements(server: Server, ns: str) -> dict[str, str]:
    """pod name -> node name ('' while pending)."""
    out = await kubectl(server, "get", "pods", "-n", ns, "-o", "json")
    return {p["metadata"]["name"]: p["spec"].get("nodeName", "")
            for p in json.loads(out.stdout)["items"]}


async def settle(server: Server, ns: str, bound: int, total: int | None = None,
                 timeout: float = 20) -> dict[str, str]:
    """Wait until `bound` pods of the namespace have a node (and stay so a moment)."""
    deadline = time.monotonic() + timeout
    where: dict[str, str] = {}
    while time.monotonic() < deadline:
        where = await placements(server, ns)
        if sum(1 for n in where.values() if n) >= bound and len(where) >= (total or bound):
            await asyncio.sleep(0.5)  # a pod that should stay pending would be bound by now
            return await placements(server, ns)
        await asyncio.sleep(0.2)
    raise AssertionError(f"expected {bound} bound pods in {ns}, got {where}")


async def describe(server: Server, ns: str, name: str, needle: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = (await kubectl(server, "describe", "pod", name, "-n", ns)).stdout
        if needle in out:
            return out
        await asyncio.sleep(0.3)
    raise AssertionError(f"{needle!r} not in kubectl describe pod {name}:\n{out}")


async def test_pods_of_one_service_spread_two_per_node(server: Server, nodes: SimCluster, ns: str) -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
    await apply(server, ns, service)
    # The scheduler shares its informers with the endpoints controller (one controller-manager
    # process): once the Service's Endpoints exist, the scheduler knows the selector too.
    async def endpoints_exist() -> bool:
        return (await kubectl(server, "get", "endpoints", "web", "-n", ns, check=False)).returncode == 0
    await eventually(endpoints_exist, timeout=10, what="the Service seen by the controller-manager")
    await apply(server, ns, *(pod(f"web-{i}", {"app": "web"}) for i in range(6)))
    where = await settle(server, ns, 6)
    assert sorted(Counter(where.values()).values()) == [2, 2, 2]
    assert set(where.values()) == set(nodes.node_names)
    condition = await kubectl(server, "get", "pod", "web-0", "-n", ns, "-o",
                              'jsonpath={.status.conditions[?(@.type=="PodScheduled")].status}')
    assert condition.stdout == "True"

    async def scheduled_messages() -> list[str]:  # events are recorded in the background
        events = await kubectl(server, "get", "events", "-n", ns, "--field-selector",
                               "reason=Scheduled,involvedObject.name=web-0", "-o", "json")
        return [e["message"] for e in json.loads(events.stdout)["items"]]
    messages = await eventually(scheduled_messages, timeout=10, what="the Scheduled event of web-0")
    assert messages == [f"Successfully assigned {ns}/web-0 to {where['web-0']}"]


async def test_required_spread_keeps_two_per_node_even_when_one_node_is_emptier(
        server: Server, nodes: SimCluster, ns: str) -> None:
    busy, other_busy, empty = nodes.node_names
    # Fill two nodes so that, by resources alone, every pod would go to the third.
    await apply(server, ns, pod("filler-a", cpu="24", nodeName=busy),
                pod("filler-b", cpu="24", nodeName=other_busy))
    constraint = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                  "whenUnsatisfiable": "DoNotSchedule",
                  "labelSelector": {"matchLabels": {"app": "even"}}}
    await apply(server, ns, *(pod(f"even-{i}", {"app": "even"}, cpu="100m",
                                  topologySpreadConstraints=[constraint]) for i in range(6)))
    where = await settle(server, ns, 8)
    spread = Counter(node for name, node in where.items() if name.startswith("even-"))
    assert spread == {busy: 2, other_busy: 2, empty: 2}


async def test_node_selector_and_required_node_affinity(server: Server, nodes: SimCluster, ns: str) -> None:
    first, second, third = nodes.node_names
    await kubectl(server, "label", "node", second, "disk=ssd")
    await kubectl(server, "label", "node", third, "tier=gold")
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["gold", "platinum"]}]}]}}}
    not_ssd = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "disk", "operator": "DoesNotExist"},
            {"key": "tier", "operator": "NotIn", "values": ["gold"]}]}]}}}
    await apply(server, ns, *(pod(f"ssd-{i}", nodeSelector={"disk": "ssd"}) for i in range(3)),
                *(pod(f"gold-{i}", affinity=affinity) for i in range(3)),
                *(pod(f"plain-{i}", affinity=not_ssd) for i in range(3)))
    where = await settle(server, ns, 9)
    assert {n for p, n in where.items() if p.startswith("ssd-")} == {second}
    assert {n for p, n in where.items() if p.startswith("gold-")} == {third}
    assert {n for p, n in where.items() if p.startswith("plain-")} == {first}


async def test_tainted_node_takes_only_pods_that_tolerate_it(server: Server, nodes: SimCluster, ns: str) -> None:
    tainted = nodes.node_names[0]
    await kubectl(server, "taint", "node", tainted, "dedicated=gpu:NoSchedule")
    pinned = {"kubernetes.io/hostname": tainted}
    toleration = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    await apply(server, ns, *(pod(f"any-{i}") for i in range(6)),
                pod("tolerant", nodeSelector=pinned, tolerations=toleration),
                pod("everything", nodeSelector=pinned, tolerations=[{"operator": "Exists"}]),
                pod("intolerant", nodeSelector=pinned))
    where = await settle(server, ns, 8, total=9)
    assert tainted not in {n for p, n in where.items() if p.startswith("any-")}
    assert where["tolerant"] == tainted and where["everything"] == tainted
    assert where["intolerant"] == ""
    out = await describe(server, ns, "intolerant", "FailedScheduling")
    assert "1 node(s) had untolerated taint {dedicated: gpu}" in out


async def test_host_port_clash_and_required_anti_affinity(server: Server, nodes: SimCluster, ns: str) -> None:
    ports = [{"containerPort": 80, "hostPort": 8080}]
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "solo"}}}]}}
    await apply(server, ns, *(pod(f"port-{i}", ports=ports) for i in range(4)),
                *(pod(f"solo-{i}", {"app": "solo"}, affinity=anti) for i in range(4)))
    where = await settle(server, ns, 6, total=8)
    for group, reason in (("port-", "node(s) didn't have free ports for the requested pod ports"),
                          # the placed pods' own anti-affinity refuses it first, as in Kubernetes
                          ("solo-", "node(s) didn't satisfy existing pods anti-affinity rules")):
        placed = [n for p, n in where.items() if p.startswith(group) and n]
        assert sorted(placed) == sorted(nodes.node_names)  # one per node, never two
        pending = next(p for p, n in where.items() if p.startswith(group) and not n)
        out = await describe(server, ns, pending, reason)
        assert f"0/{len(await node_names(server))} nodes are available: 3 {reason}." in out


async def node_names(server: Server) -> list[str]:
    out = await kubectl(server, "get", "nodes", "-o", "name")
    return out.stdout.split()


async def test_too_big_pod_waits_then_lands_on_a_new_big_node(
        server: Server, client: ApiClient, nodes: SimCluster, ns: str) -> None:
    await apply(server, ns, pod("huge", cpu="100"))
    out = await describe(server, ns, "huge", "FailedScheduling")
    count = len(await node_names(server))
    assert f"0/{count} nodes are available: {count} Insufficient cpu. preemption: " in out
    assert "Status:           Pending" in out
    conditions = await kubectl(server, "get", "pod", "huge", "-n", ns, "-o",
                               "jsonpath={.status.conditions[0]}")
    cond = json.loads(conditions.stdout)
    assert (cond["type"], cond["status"], cond["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert "Insufficient cpu" in cond["message"]
    async with running_sim(client, 1, cpu="128", prefix=f"big{next(_prefixes)}-") as big:
        where = await settle(server, ns, 1)
        assert where["huge"] == big.node_names[0]


async def test_bad_input_is_refused_with_422_and_the_scheduler_keeps_going(
        server: Server, nodes: SimCluster, ns: str) -> None:
    bad_operator = pod("bad-op", affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
            "matchExpressions": [{"key": "disk", "operator": "Near", "values": ["ssd"]}]}]}}})
    bad_anti = pod("bad-anti", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname",
            "labelSelector": {"matchExpressions": [{"key": "app", "operator": "Sometimes"}]}}]}})
    negative = pod("negative", cpu="-1")
    for manifest, words in ((bad_operator, 'Invalid value: "Near": not a valid selector operator'),
                            (bad_anti, "Sometimes"),
                            (negative, "must be greater than or equal to 0")):
        result = await kubectl(server, "create", "-n", ns, "-f", "-", "-v=6",
                               input=json.dumps(manifest), check=False)
        assert result.returncode != 0
        assert "422 Unprocessable Entity" in result.stderr, result.stderr
        assert words in result.stderr, result.stderr
    await apply(server, ns, pod("after", cpu="100m"))
    where = await settle(server, ns, 1)
    assert where == {"after": where["after"]} and where["after"] in nodes.node_names


async def test_explain_schedule_prints_refusing_filter_and_scores_per_node(
        server: Server, nodes: SimCluster, ns: str) -> None:
    target = nodes.node_names[1]
    await apply(server, ns, pod("picky", nodeSelector={"kubernetes.io/hostname": target}))
    await settle(server, ns, 1)
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "kubelite.cli.main", "explain-schedule",
                         f"{ns}/picky", "--kubeconfig", str(server.kubeconfig)],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Pod {ns}/picky is bound to {target}; explaining")
    lines = {line.split()[0]: line for line in result.stdout.splitlines()
             if line.split() and line.split()[0] in nodes.node_names}
    assert "fits" in lines[target] and "NodeResourcesFit=" in lines[target]
    assert "TaintToleration=" in lines[target] and "total=" in lines[target]
    for other in nodes.node_names:
        if other != target:
            assert "refused" in lines[other]
            assert "NodeAffinity: node(s) didn't match Pod's node affinity/selector" in lines[other]
    missing = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "kubelite.cli.main", "explain-schedule",
                         f"{ns}/nope", "--kubeconfig", str(server.kubeconfig)],
        capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and 'pods "nope" not found' in missing.stderr
