"""The WordPress and MySQL shape on a real node, through the real kubectl.

A stateless front end scales by identical pods: a Deployment of 3 busybox `httpd` pods behind
a Service, reached through its ClusterIP from another pod; a killed front-end pod is replaced
and the Deployment is back to 3 ready. The database is one pod (a Deployment of 1, Recreate, as
in Kubernetes' WordPress tutorial) with a claim on the default `local-path` class: what it
wrote is still there when its pod is deleted and the ReplicaSet makes a new one.
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, is_ready, running_node

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

SERVE = "hostname > /www/index.html && exec httpd -f -p 8080 -h /www"
DATA = "/var/lib/mysql"
# The stand-in database: one row per start, kept on the claim.
DATABASE = f'echo "started $(hostname)" >> {DATA}/db && exec sleep 3600'


def frontend() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "wordpress", "labels": {"app": "wordpress"}},
        "spec": {"replicas": 3,
                 "selector": {"matchLabels": {"app": "wordpress", "tier": "frontend"}},
                 "template": {
                     "metadata": {"labels": {"app": "wordpress", "tier": "frontend"}},
                     "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                         "name": "wordpress", "image": "busybox:latest",
                         "command": ["sh", "-c", SERVE],
                         "ports": [{"name": "http", "containerPort": 8080}],
                         "readinessProbe": {"httpGet": {"path": "/", "port": "http"},
                                            "periodSeconds": 1, "failureThreshold": 1}}]}}}}


def frontend_service() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "wordpress", "labels": {"app": "wordpress"}},
            "spec": {"selector": {"app": "wordpress", "tier": "frontend"},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def database() -> list[dict[str, Any]]:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "mysql-pv-claim", "labels": {"app": "wordpress"}},
             "spec": {"accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}
    deploy = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "wordpress-mysql", "labels": {"app": "wordpress"}},
        "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                 "selector": {"matchLabels": {"app": "wordpress", "tier": "mysql"}},
                 "template": {
                     "metadata": {"labels": {"app": "wordpress", "tier": "mysql"}},
                     "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                         "name": "mysql", "image": "busybox:latest",
                         "command": ["sh", "-c", DATABASE],
                         "volumeMounts": [{"name": "mysql-persistent-storage",
                                           "mountPath": DATA}]}],
                         "volumes": [{"name": "mysql-persistent-storage",
                                      "persistentVolumeClaim": {"claimName": "mysql-pv-claim"}}]}}}}
    return [claim, deploy]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("wordpress")) as c:
        c.apply(frontend())
        c.apply(frontend_service())
        for obj in database():
            c.apply(obj)
        c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
                 "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                     {"name": "c", "image": "busybox:latest", "command": ["sleep", "3600"]}]}})
        c.kubectl("rollout", "status", "deployment/wordpress", "--timeout=90s", timeout=100)
        c.kubectl("rollout", "status", "deployment/wordpress-mysql", "--timeout=90s", timeout=100)
        c.wait_running("client", timeout=60)
        yield c


def get_json(cluster: NodeCluster, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return obj


def wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.2)


def pods(cluster: NodeCluster, tier: str) -> list[dict[str, Any]]:
    """The tier's pods that are not being deleted."""
    items = get_json(cluster, "pods", "-l", f"app=wordpress,tier={tier}")["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def ready_names(cluster: NodeCluster, tier: str) -> set[str]:
    return {p["metadata"]["name"] for p in pods(cluster, tier) if is_ready(p)}


def endpoint_ips(cluster: NodeCluster, name: str) -> set[str]:
    subsets = get_json(cluster, "endpoints", name).get("subsets") or []
    return {a["ip"] for s in subsets for a in s.get("addresses") or []}


def requests_from(cluster: NodeCluster, pod: str, url: str, count: int) -> collections.Counter[str]:
    # (busybox's static wget crashes on -T; `timeout` bounds each request instead)
    script = f"for i in $(seq {count}); do timeout 3 wget -q -O - {url} || echo error; done"
    out = cluster.kubectl("exec", pod, "--", "sh", "-c", script, timeout=120).stdout
    return collections.Counter(line.strip() for line in out.splitlines() if line.strip())


def progressing(deployment: dict[str, Any]) -> dict[str, Any]:
    conds = {c["type"]: c for c in deployment["status"].get("conditions") or []}
    return conds["Progressing"]


def test_cluster_ip_answers_from_another_pod(cluster: NodeCluster) -> None:
    front = pods(cluster, "frontend")
    assert len(front) == 3 and all(is_ready(p) for p in front)
    ips = {p["status"]["podIP"] for p in front}
    wait(lambda: endpoint_ips(cluster, "wordpress") == ips, 10, "three ready endpoints")
    cluster_ip = get_json(cluster, "service", "wordpress")["spec"]["clusterIP"]
    time.sleep(0.5)  # the proxy follows the EndpointSlice within a second
    counts = requests_from(cluster, "client", f"http://{cluster_ip}/", 30)
    assert sum(counts.values()) == 30, counts
    assert set(counts) == {p["metadata"]["name"] for p in front}, counts  # every pod answers
    deploy = get_json(cluster, "deployment", "wordpress")
    assert progressing(deploy)["reason"] == "NewReplicaSetAvailable"


def test_killed_front_end_pod_is_replaced(cluster: NodeCluster) -> None:
    before = ready_names(cluster, "frontend")
    assert len(before) == 3
    victim = sorted(before)[0]
    cluster.kubectl("delete", "pod", victim, "--wait=false")
    wait(lambda: len(ready_names(cluster, "frontend") - before) == 1, 60, "a replacement pod ready")
    cluster.wait_gone(victim, timeout=30)
    after = ready_names(cluster, "frontend")
    assert len(after) == 3 and victim not in after and len(after & before) == 2
    out = cluster.kubectl("rollout", "status", "deployment/wordpress", "--timeout=30s", timeout=40)
    assert "successfully rolled out" in out.stdout
    wait(lambda: get_json(cluster, "deployment", "wordpress")["status"].get("readyReplicas") == 3,
         15, "the Deployment back to 3 ready")
    deploy = get_json(cluster, "deployment", "wordpress")
    assert deploy["status"]["availableReplicas"] == 3 and deploy["status"]["replicas"] == 3
    # A replaced pod is not a rollout: the condition stays as the finished rollout left it.
    assert progressing(deploy)["reason"] == "NewReplicaSetAvailable"
    # The Service now sends traffic to the replacement too.
    new_ips = {p["status"]["podIP"] for p in pods(cluster, "frontend")}
    wait(lambda: endpoint_ips(cluster, "wordpress") == new_ips, 10, "endpoints follow the pods")
    time.sleep(0.5)
    cluster_ip = get_json(cluster, "service", "wordpress")["spec"]["clusterIP"]
    counts = requests_from(cluster, "client", f"http://{cluster_ip}/", 30)
    assert set(counts) == after, counts


def test_database_data_survives_its_pod(cluster: NodeCluster) -> None:
    [first] = pods(cluster, "mysql")
    name = first["metadata"]["name"]
    cluster.kubectl("exec", name, "--", "sh", "-c", f"echo 'row 1' >> {DATA}/db")
    claim = get_json(cluster, "pvc", "mysql-pv-claim")
    assert claim["status"]["phase"] == "Bound"
    assert claim["spec"]["storageClassName"] == "local-path"
    volume = claim["spec"]["volumeName"]

    cluster.kubectl("delete", "pod", name, "--wait=false")
    wait(lambda: bool(ready_names(cluster, "mysql") - {name}), 60, "a new database pod ready")
    cluster.wait_gone(name, timeout=30)
    [second] = pods(cluster, "mysql")
    new_name = second["metadata"]["name"]
    assert new_name != name
    rows = cluster.kubectl("exec", new_name, "--", "cat", f"{DATA}/db").stdout.splitlines()
    assert rows == [f"started {name}", "row 1", f"started {new_name}"], rows
    # The same claim and volume, still bound: nothing was provisioned again.
    claim = get_json(cluster, "pvc", "mysql-pv-claim")
    assert claim["status"]["phase"] == "Bound" and claim["spec"]["volumeName"] == volume
    assert len(get_json(cluster, "pv")["items"]) == 1
