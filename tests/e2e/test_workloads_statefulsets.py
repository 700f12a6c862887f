"""The user's MySQL shape through the real kubectl with real containers: a StatefulSet of 2
behind a headless Service with a volumeClaimTemplate on the local-path class. Pods come up in
order, each keeps its claim and its data across deletion and a rolling update (which replaces
them in reverse order), `web-0.web` resolves from another pod, and rollout
status/history/undo and scale work."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node
from tests.helpers.wait import until

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"clusterIP": "None", "selector": {"app": "web"},
                    "ports": [{"name": "web", "port": 80}]}}
STATEFUL_SET = {
    "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
    "spec": {"serviceName": "web", "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                 "terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "db", "image": "busybox:latest",
                                 "command": ["sleep", "3600"],
                                 "env": [{"name": "V", "value": "1"}],
                                 "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
             "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                 "accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}}}]}}
CLIENT = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"}, "spec": {
    "terminationGracePeriodSeconds": 1,
    "containers": [{"name": "c", "image": "busybox:latest", "command": ["sleep", "3600"]}]}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("sts")) as c:
        yield c


def get(cluster: NodeCluster, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return obj


def ready_at(pod: dict[str, Any]) -> str:
    return next(c["lastTransitionTime"] for c in pod["status"]["conditions"]
                if c["type"] == "Ready" and c["status"] == "True")


def exec_(cluster: NodeCluster, pod: str, script: str) -> str:
    return cluster.kubectl("exec", pod, "--", "sh", "-c", script).stdout


def rollout_status(cluster: NodeCluster) -> str:
    return cluster.kubectl("rollout", "status", "sts/web", "--timeout=180s").stdout


def test_ordered_pods_keep_claims_and_data_resolve_and_roll(cluster: NodeCluster) -> None:
    cluster.apply(SERVICE)
    cluster.apply(STATEFUL_SET)
    assert "partitioned roll out complete: 2 new pods" in rollout_status(cluster)
    web0, web1 = cluster.pod("web-0"), cluster.pod("web-1")
    # OrderedReady: web-1 exists only once web-0 is Ready
    assert web1["metadata"]["creationTimestamp"] >= ready_at(web0)
    assert web0["spec"]["hostname"] == "web-0" and web0["spec"]["subdomain"] == "web"
    assert web0["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "0"
    table = cluster.kubectl("get", "sts", "web").stdout
    assert table.split("\n")[0].split() == ["NAME", "READY", "AGE"] and "2/2" in table, table
    for i in (0, 1):
        pvc = get(cluster, "pvc", f"data-web-{i}")
        assert pvc["status"]["phase"] == "Bound"
        assert pvc["metadata"]["labels"] == {"app": "web"}
    exec_(cluster, "web-0", "echo zero > /data/file")
    exec_(cluster, "web-1", "echo one > /data/file")

    # a deleted pod comes back with the same name, claim and data
    cluster.kubectl("delete", "pod", "web-0")
    until(lambda: cluster.server.kubectl("get", "pod", "web-0", "-o", "json", check=False)
          .returncode == 0 and cluster.pod("web-0")["metadata"]["uid"] != web0["metadata"]["uid"],
          60, "web-0 recreated")
    cluster.wait_running("web-0", timeout=60)
    assert exec_(cluster, "web-0", "cat /data/file") == "zero\n"

    # per-pod DNS through the headless Service
    cluster.apply(CLIENT)
    cluster.wait_running("client", timeout=60)
    ip0 = cluster.pod("web-0")["status"]["podIP"]
    until(lambda: ip0 in cluster.server.kubectl(
        "exec", "client", "--", "nslookup", "web-0.web.default.svc.cluster.local",
        check=False).stdout, 30, "web-0.web.default.svc.cluster.local resolves")
    # `web-0.web` through the search path (busybox's nslookup ignores it; its wget does not,
    # and names the address it could not connect to)
    short = cluster.server.kubectl("exec", "client", "--", "timeout", "3", "wget", "-q", "-O",
                                   "-", "http://web-0.web/", check=False)
    assert ip0 in short.stdout + short.stderr, short
    fqdn = cluster.kubectl("exec", "client", "--", "nslookup",
                           "web-1.web.default.svc.cluster.local").stdout
    assert cluster.pod("web-1")["status"]["podIP"] in fqdn, fqdn

    # a rolling update replaces pods in reverse order; claims and data stay
    cluster.kubectl("set", "env", "sts/web", "V=2")
    rollout_status(cluster)
    new0, new1 = cluster.pod("web-0"), cluster.pod("web-1")
    assert new1["metadata"]["creationTimestamp"] <= new0["metadata"]["creationTimestamp"]
    assert exec_(cluster, "web-0", "echo $V; cat /data/file") == "2\nzero\n"
    assert exec_(cluster, "web-1", "echo $V; cat /data/file") == "2\none\n"
    sts = get(cluster, "sts", "web")
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
    assert new0["metadata"]["labels"]["controller-revision-hash"] == sts["status"]["updateRevision"]

    # history and undo through ControllerRevisions
    history = cluster.kubectl("rollout", "history", "sts/web").stdout
    assert "REVISION" in history and "\n1 " in history and "\n2 " in history, history
    assert len(get(cluster, "controllerrevisions")["items"]) == 2
    cluster.kubectl("rollout", "undo", "sts/web")
    rollout_status(cluster)
    until(lambda: exec_(cluster, "web-0", "echo $V") == "1\n", 60, "web-0 back at V=1")

    # scaling down removes the highest ordinal and keeps its claim (whenScaled: Retain)
    cluster.kubectl("scale", "sts/web", "--replicas=1")
    cluster.wait_gone("web-1", timeout=60)
    assert get(cluster, "pvc", "data-web-1")["status"]["phase"] == "Bound"
    assert cluster.pod("web-0")["status"]["phase"] == "Running"
