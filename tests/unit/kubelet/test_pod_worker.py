"""PodSyncer over an in-memory runtime: deletion held by a finalizer, eviction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.kubelet.fake_runtime import Harness, pod


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    await harness.close()


def _state(status: dict[str, Any]) -> dict[str, Any]:
    return dict(status["containerStatuses"][0]["state"])


async def test_a_pod_held_by_a_finalizer_keeps_its_final_status(h: Harness) -> None:
    p = pod(terminationGracePeriodSeconds=0)
    await h.syncer.sync("uid-1", p)
    assert "running" in _state(h.statuses[-1])
    deleting = {**p, "metadata": {**p["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z",
                                  "deletionGracePeriodSeconds": 0, "finalizers": ["x/hold"]}}
    await h.syncer.sync("uid-1", deleting)
    final = h.statuses[-1]
    assert "terminated" in _state(final)
    assert h.client.deleted == [("pods", "web")]
    # The finalizer keeps the object: the update and later resyncs sync it again.
    for _ in range(3):
        await h.syncer.sync("uid-1", deleting)
    assert h.statuses[-1] is final
    assert h.client.deleted == [("pods", "web")]
    # Once the object is gone, a pod of the same uid would be handled afresh.
    await h.syncer.sync("uid-1", None)
    assert "uid-1" not in h.syncer._torn_down


async def test_eviction_by_the_eviction_manager_fails_the_pod_with_disruption_target(
        h: Harness) -> None:
    p = pod()
    await h.syncer.sync("uid-1", p)
    h.syncer.evictions["uid-1"] = "The node was low on resource: memory. "
    await h.syncer.sync("uid-1", p)
    status = h.statuses[-1]
    assert (status["phase"], status["reason"]) == ("Failed", "Evicted")
    assert status["conditions"][0]["type"] == "DisruptionTarget"
    assert status["conditions"][0]["reason"] == "TerminationByKubelet"
    assert "terminated" in _state(status)
    assert ("Evicted", "The node was low on resource: memory. ") in h.events.emitted
    assert h.syncer.evictions == {}


class OverLimitVolumes:
    """A volume manager whose emptyDir went over its sizeLimit."""

    class Result:
        ready = True
        failures: list[str] = []

    async def mount_pod(self, pod: dict[str, Any]) -> Any:
        return self.Result()

    async def over_limit(self, pod: dict[str, Any]) -> str:
        return "Usage of EmptyDir volume \"cache\" exceeds the limit \"1Mi\"."

    def should_report(self, uid: str, msg: str) -> bool:
        return True

    def container_mounts(self, *a: Any) -> list[Any]:
        return []

    async def unmount_pod(self, uid: str) -> None:
        return None

    async def unmount_terminated(self, uid: str) -> None:
        return None


async def test_local_storage_eviction_takes_the_same_path(h: Harness) -> None:
    p = pod()
    await h.syncer.sync("uid-1", p)
    h.syncer.volumes = OverLimitVolumes()  # type: ignore[assignment]
    await h.syncer.sync("uid-1", p)
    status = h.statuses[-1]
    assert (status["phase"], status["reason"]) == ("Failed", "Evicted")
    assert status["conditions"][0]["type"] == "DisruptionTarget"
    assert status["message"].startswith("Usage of EmptyDir volume")


async def test_transition_times_survive_a_stale_copy_of_the_pod(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The informer's pod may not show the status just written yet: comparing with that copy
    would move Ready's lastTransitionTime forward on every sync until it caught up (a
    DaemonSet's rolling update reads that time)."""
    import kubelite.kubelet.pod_worker as pod_worker

    clock = iter([f"2024-01-01T00:00:0{i}Z" for i in range(10)])
    monkeypatch.setattr(pod_worker, "rfc3339", lambda: next(clock))
    stale = pod()  # no status at all, as the informer still has it
    await h.syncer.sync("uid-1", stale)
    first = {c["type"]: c["lastTransitionTime"] for c in h.statuses[-1]["conditions"]}
    await h.syncer.sync("uid-1", stale)
    second = {c["type"]: c["lastTransitionTime"] for c in h.statuses[-1]["conditions"]}
    assert second == first
