"""The Deployment controller against an in-memory API: the Progressing condition it writes
when it creates the new ReplicaSet (NewReplicaSetCreated) and when it finds one a Deployment
without the condition already has (FoundNewReplicaSet)."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelite.controllers import rollout as ro
from kubelite.controllers.deployment import DeploymentController
from tests.unit.sim.fake_client import FakeClient

Obj = dict[str, Any]


class EventClient(FakeClient):
    async def create_event(self, involved: Obj, reason: str, message: str, **kw: Any) -> None:
        pass


def deployment(**spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "generation": 1},
            "spec": {"replicas": 3, "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}},
                     **spec},
            "status": {}}


def progressing_writes(client: FakeClient) -> list[Obj]:
    """Every Progressing condition the controller wrote to the Deployment's status."""
    out = []
    for verb, plural, _, body in client.writes:
        if verb == "patch/status" and plural == "deployments":
            cond = ro.condition((body.get("status") or {}).get("conditions") or [], ro.PROGRESSING)
            if cond is not None:
                out.append(cond)
    return out


async def run_until(client: FakeClient, check: Any, timeout: float = 3.0) -> None:
    controller = DeploymentController(client)
    await controller.start()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            assert asyncio.get_running_loop().time() < deadline, progressing_writes(client)
            await asyncio.sleep(0.02)
    finally:
        await controller.stop()


async def test_creating_the_new_replica_set_reports_new_replica_set_created() -> None:
    client = EventClient()
    await client.put_direct("deployments", deployment())
    await run_until(client, lambda: progressing_writes(client))
    [created] = [o for (plural, _, _), o in client.objects.items() if plural == "replicasets"]
    first = progressing_writes(client)[0]
    assert (first["status"], first["reason"]) == ("True", "NewReplicaSetCreated")
    assert first["message"] == f'Created new replica set "{created["metadata"]["name"]}"'
    assert not any(c["reason"] == "FoundNewReplicaSet" for c in progressing_writes(client))


async def test_an_existing_new_replica_set_is_reported_found() -> None:
    client = EventClient()
    d = await client.put_direct("deployments", deployment())
    rs = ro.new_replica_set(d, None, 1, 3)
    rs["status"] = {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "observedGeneration": 1}
    await client.put_direct("replicasets", rs)
    name = rs["metadata"]["name"]
    await run_until(client, lambda: any(c["reason"] == "NewReplicaSetAvailable"
                                        for c in progressing_writes(client)))
    first = progressing_writes(client)[0]
    assert (first["status"], first["reason"]) == ("True", "FoundNewReplicaSet")
    assert first["message"] == f'Found new replica set "{name}"'
    assert client.count("create", "replicasets") == 0
    last = progressing_writes(client)[-1]
    assert last["message"] == f'ReplicaSet "{name}" has successfully progressed.'


async def test_no_progress_deadline_means_no_progressing_condition() -> None:
    client = EventClient()
    await client.put_direct("deployments", deployment(progressDeadlineSeconds=ro.NO_DEADLINE))
    await run_until(client, lambda: client.count("patch/status", "deployments") > 0)
    await asyncio.sleep(0.1)
    assert progressing_writes(client) == []
