"""Restart safety: after SIGKILL and a restart, the agent adopts running containers (same ids,
same restart counts, still Running) and cleans up pods deleted while it was down."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.node import NodeCluster, running_node


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("node")) as c:
        yield c


def manifest(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                {"name": "a", "image": "busybox:latest", "command": ["sleep", "3600"]},
                {"name": "b", "image": "busybox:latest", "command": ["sleep", "3600"]}]}}


def test_sigkill_and_restart_adopts_running_containers(cluster: NodeCluster) -> None:
    cluster.apply(manifest("keep"))
    cluster.apply(manifest("gone"))
    before = cluster.wait_running("keep")
    gone = cluster.wait_running("gone")
    ids = {c["name"]: c["containerID"] for c in before["status"]["containerStatuses"]}
    cluster.agent.stop(signal.SIGKILL)
    # While the agent is down, a pod is force-deleted: its containers must go on restart.
    cluster.kubectl("delete", "pod", "gone", "--grace-period=0", "--force")
    cluster.agent.mark()
    cluster.agent.start()
    after = cluster.wait_running("keep")
    assert {c["name"]: c["containerID"] for c in after["status"]["containerStatuses"]} == ids
    assert [c["restartCount"] for c in after["status"]["containerStatuses"]] == [0, 0]
    assert after["status"]["podIP"] == before["status"]["podIP"]
    uid = gone["metadata"]["uid"]
    assert not (Path(f"/run/kubelite-{cluster.cluster_id}/sandboxes") / uid).exists()
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert uid not in netns
    runc = subprocess.run(["runc", "--root", f"/run/kubelite-{cluster.cluster_id}/runtime/runc",
                           "list", "-q"], capture_output=True, text=True).stdout.split()
    assert sorted(runc) == sorted(cid.split("://", 1)[1] for cid in ids.values())
    cluster.kubectl("delete", "pod", "keep")
