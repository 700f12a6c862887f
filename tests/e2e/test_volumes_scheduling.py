"""A local PersistentVolume pins its pod's node (the scheduler's VolumeBinding plugin) on a real
node through kubectl: a volume only another node can use leaves the pod Pending with
kube-scheduler's words; one this node can use runs it, with its data on that volume."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node
from tests.helpers.wait import until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("volsched")) as c:
        yield c


def local_pv(name: str, path: Path, node: str) -> dict[str, Any]:
    path.mkdir(parents=True, exist_ok=True)
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "storageClassName": "local", "local": {"path": str(path)},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "kubernetes.io/hostname", "operator": "In",
                          "values": [node]}]}]}}}}


def claim_and_pod(name: str, volume: str) -> list[dict[str, Any]]:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local",
                      "volumeName": volume, "resources": {"requests": {"storage": "1Gi"}}}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "c", "image": "busybox:latest",
                                    "command": ["sh", "-c", "echo here > /mnt/f; sleep 3600"],
                                    "volumeMounts": [{"name": "v", "mountPath": "/mnt"}]}],
                    "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": name}}]}}
    return [claim, pod]


def test_local_volume_decides_where_the_pod_runs(cluster: NodeCluster, tmp_path: Path) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "List",
                   "items": [local_pv("elsewhere", tmp_path / "elsewhere", "some-other-node"),
                             *claim_and_pod("stuck", "elsewhere")]})

    def refused() -> bool:
        events = json.loads(cluster.kubectl("get", "events", "--field-selector",
                                            "involvedObject.name=stuck", "-o", "json").stdout)
        return any(e["reason"] == "FailedScheduling"
                   and "node(s) had volume node affinity conflict" in e["message"]
                   for e in events["items"])

    until(refused, 30, "FailedScheduling for the volume's node affinity")
    assert not cluster.pod("stuck")["spec"].get("nodeName")

    cluster.apply({"apiVersion": "v1", "kind": "List",
                   "items": [local_pv("here", tmp_path / "here", cluster.node_name),
                             *claim_and_pod("placed", "here")]})
    pod = cluster.wait_running("placed", timeout=60)
    assert pod["spec"]["nodeName"] == cluster.node_name
    until(lambda: (tmp_path / "here" / "f").exists(), 10, "the file on the local volume")
    assert (tmp_path / "here" / "f").read_text() == "here\n"
