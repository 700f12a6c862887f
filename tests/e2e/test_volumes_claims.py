"""Persistent volumes through kubectl with real containers: the default `local-path` class binds
a claim when its pod is scheduled, data under `subPath: data` outlives the pod, reclaimPolicy
Delete removes the data with the claim and Retain keeps it, an in-use claim is not deleted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node
from tests.helpers.wait import until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("pvc")) as c:
        yield c


def claim(name: str, storage_class: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": spec}


def seed_pod(name: str, claim_name: str, script: str) -> dict[str, Any]:
    """The last example of shared/seed/pods.txt, with a command."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "my-container", "image": "busybox:latest",
                        "command": ["sh", "-c", script],
                        "volumeMounts": [{"name": "my-filesystem", "mountPath": "/mnt",
                                          "subPath": "data"}]}],
        "volumes": [{"name": "my-filesystem", "persistentVolumeClaim": {"claimName": claim_name}}]}}


def get(cluster: NodeCluster, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return obj


def exists(cluster: NodeCluster, *args: str) -> bool:
    return cluster.server.kubectl("get", *args, check=False).returncode == 0


def volume_dir(cluster: NodeCluster, claim_name: str) -> Path:
    pvc = get(cluster, "pvc", claim_name)
    pv = get(cluster, "pv", pvc["spec"]["volumeName"])
    return Path(pv["spec"]["hostPath"]["path"])


def test_default_class_binds_on_scheduling_and_data_outlives_the_pod(cluster: NodeCluster) -> None:
    # made by the provisioner once the controller-manager holds its lease
    sc = until(lambda: "local-path (default)" in (t := cluster.kubectl("get", "storageclass").stdout) and t,
               timeout=60, what="the default StorageClass")
    assert "WaitForFirstConsumer" in sc
    cluster.apply(claim("my-pvc"))
    time.sleep(1)
    assert get(cluster, "pvc", "my-pvc")["status"]["phase"] == "Pending"  # waits for a consumer
    cluster.apply(seed_pod("writer", "my-pvc", "echo persisted > /mnt/file; sleep 3600"))
    cluster.wait_running("writer", timeout=60)
    assert "Bound" in cluster.kubectl("get", "pvc", "my-pvc").stdout
    pvc = get(cluster, "pvc", "my-pvc")
    # The claim got the default class (written into the claim when the server allows it).
    assert get(cluster, "pv", pvc["spec"]["volumeName"])["spec"]["storageClassName"] == "local-path"
    assert pvc["spec"].get("storageClassName") in (None, "local-path")
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == cluster.node_name
    assert "kubernetes.io/pvc-protection" in pvc["metadata"]["finalizers"]
    data = volume_dir(cluster, "my-pvc")
    assert str(data).startswith(str(cluster.agent.data_dir))
    until(lambda: (data / "data" / "file").exists(), 10, "file under data/ of the volume")
    assert (data / "data" / "file").read_text() == "persisted\n"
    # An in-use claim is not deleted under a running pod.
    cluster.kubectl("delete", "pvc", "my-pvc", "--wait=false")
    time.sleep(1.5)
    assert exists(cluster, "pvc", "my-pvc")
    assert get(cluster, "pvc", "my-pvc")["metadata"].get("deletionTimestamp")
    # Once the pod is gone the claim goes too, and (reclaimPolicy Delete) its data.
    cluster.kubectl("delete", "pod", "writer", "--wait=false")
    cluster.wait_gone("writer", timeout=30)
    until(lambda: not exists(cluster, "pvc", "my-pvc"), 30, "the claim deleted")
    until(lambda: not data.exists(), 30, "the data deleted")


def test_recreated_pod_sees_the_data(cluster: NodeCluster) -> None:
    cluster.apply(claim("keep"))
    cluster.apply(seed_pod("one", "keep", "echo first > /mnt/f; sleep 3600"))
    cluster.wait_running("one", timeout=60)
    data = volume_dir(cluster, "keep")
    until(lambda: (data / "data" / "f").exists(), 10, "file written")
    cluster.kubectl("delete", "pod", "one", "--wait=false")
    cluster.wait_gone("one", timeout=30)
    assert (data / "data" / "f").read_text() == "first\n"
    cluster.apply(seed_pod("one", "keep", "cat /mnt/f; sleep 3600"))
    cluster.wait_running("one", timeout=60)
    until(lambda: "first" in cluster.server.kubectl("logs", "one", check=False).stdout, 10,
          "the recreated pod reads the file")


def test_reclaim_delete_removes_data_and_retain_keeps_it(cluster: NodeCluster) -> None:
    cluster.apply({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                   "metadata": {"name": "local-retain"}, "provisioner": "rancher.io/local-path",
                   "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"})
    cluster.apply(claim("gone"))
    cluster.apply(claim("kept", "local-retain"))
    for name in ("gone", "kept"):
        cluster.apply(seed_pod(f"use-{name}", name, "echo x > /mnt/f; sleep 3600"))
    for name in ("gone", "kept"):
        cluster.wait_running(f"use-{name}", timeout=60)
    dirs = {name: volume_dir(cluster, name) for name in ("gone", "kept")}
    pvs = {name: get(cluster, "pvc", name)["spec"]["volumeName"] for name in ("gone", "kept")}
    for name in ("gone", "kept"):
        until(lambda n=name: (dirs[n] / "data" / "f").exists(), 10, "data written")  # type: ignore[misc]
        cluster.kubectl("delete", "pod", f"use-{name}", "--wait=false")
    for name in ("gone", "kept"):
        cluster.wait_gone(f"use-{name}", timeout=30)
        cluster.kubectl("delete", "pvc", name, "--timeout=30s")
    until(lambda: not dirs["gone"].exists(), 30, "Delete: the volume's directory removed")
    until(lambda: not exists(cluster, "pv", pvs["gone"]), 30, "Delete: the PV removed")
    until(lambda: get(cluster, "pv", pvs["kept"])["status"]["phase"] == "Released", 30,
          "Retain: the PV Released")
    assert (dirs["kept"] / "data" / "f").read_text() == "x\n"


def test_hand_made_host_path_volume_binds_smallest_fit(cluster: NodeCluster, tmp_path: Path) -> None:
    for name, size in (("hp-big", "10Gi"), ("hp-small", "2Gi")):
        cluster.apply({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
                       "spec": {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                                "storageClassName": "manual",
                                "hostPath": {"path": str(tmp_path / name), "type": "DirectoryOrCreate"}}})
    cluster.apply(claim("manual-claim", "manual"))
    until(lambda: get(cluster, "pvc", "manual-claim")["status"].get("phase") == "Bound", 30,
          "the claim Bound")
    assert get(cluster, "pvc", "manual-claim")["spec"]["volumeName"] == "hp-small"
    assert "Bound" in cluster.kubectl("get", "pv", "hp-small").stdout
    cluster.apply(seed_pod("manual", "manual-claim", "echo hi > /mnt/x; sleep 3600"))
    cluster.wait_running("manual", timeout=60)
    until(lambda: (tmp_path / "hp-small" / "data" / "x").exists(), 10, "file on the hostPath PV")
