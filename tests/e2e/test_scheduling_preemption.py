"""A user makes PriorityClasses with kubectl; a high-priority pod that does not fit on a full
(simulated) node preempts the low-priority one there, as kube-scheduler does."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

from kubelite.client import ApiClient
from tests.helpers.cluster import Server
from tests.helpers.sim import running_sim
from tests.helpers.wait import eventually


async def kubectl(server: Server, *args: str, input: str | None = None,
                  check: bool = True) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(server.kubectl, *args, input=input, check=check)


def pod(name: str, cls: str, node: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"priorityClassName": cls,
                                "nodeSelector": {"kubernetes.io/hostname": node},
                                "containers": [{"name": "c", "image": "busybox",
                                                "resources": {"requests": {"cpu": "2"}}}]}})


async def test_priority_classes_with_kubectl(server: Server) -> None:
    out = (await kubectl(server, "get", "priorityclasses")).stdout
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines()[1:]}
    assert rows["system-node-critical"] == ["2000001000", "false"]
    assert rows["system-cluster-critical"] == ["2000000000", "false"]
    await kubectl(server, "create", "priorityclass", "e2e-high", "--value=1000")
    got = json.loads((await kubectl(server, "get", "pc", "e2e-high", "-o", "json")).stdout)
    assert got["value"] == 1000 and got["preemptionPolicy"] == "PreemptLowerPriority"
    bad = await kubectl(server, "create", "priorityclass", "system-mine", "--value=5", check=False)
    assert "reserved for system use only" in bad.stderr
    missing = await kubectl(server, "apply", "-f", "-", input=pod("nope", "no-such", "x"),
                            check=False)
    assert "no PriorityClass with name no-such was found" in missing.stderr
    await kubectl(server, "delete", "pc", "e2e-high")


async def test_high_priority_pod_preempts_on_a_full_node(server: Server, client: ApiClient) -> None:
    await kubectl(server, "create", "priorityclass", "e2e-low", "--value=10")
    await kubectl(server, "create", "priorityclass", "e2e-top", "--value=1000")
    async with running_sim(client, 1, prefix="prio-", cpu="3") as sim:
        node = sim.node_names[0]
        await kubectl(server, "apply", "-f", "-", input=pod("low", "e2e-low", node))

        async def running(name: str) -> dict[str, Any] | None:
            obj = json.loads((await kubectl(server, "get", "pod", name, "-o", "json")).stdout)
            return obj if obj["status"].get("phase") == "Running" else None
        low = await eventually(lambda: running("low"), timeout=30)
        assert low["spec"]["priority"] == 10
        await kubectl(server, "apply", "-f", "-", input=pod("high", "e2e-top", node))

        async def preempted() -> str:
            events = (await kubectl(server, "get", "events", "--field-selector",
                                    "involvedObject.name=low", "-o", "json")).stdout
            reasons = {e["reason"]: e["message"] for e in json.loads(events)["items"]}
            return str(reasons.get("Preempted", ""))
        message = await eventually(preempted, timeout=30)
        assert message.startswith("Preempted by pod ") and message.endswith(f" on node {node}")
        high = await eventually(lambda: running("high"), timeout=60)
        assert high["spec"]["nodeName"] == node
        assert high["status"].get("nominatedNodeName") in (node, None)
        gone = await kubectl(server, "get", "pod", "low", check=False)
        assert "NotFound" in gone.stderr
        await kubectl(server, "delete", "pod", "high", "--wait=false")
    await kubectl(server, "delete", "pc", "e2e-low", "e2e-top")
