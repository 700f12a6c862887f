"""More pod volumes on a real node through kubectl: downwardAPI files (updated when labels
change), a projected volume (configMap + secret + downwardAPI + token in one directory),
fsGroup ownership, emptyDir sizeLimit eviction, and a finished pod's volumes unmounted while
its emptyDir stays until the pod is deleted."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node
from tests.helpers.wait import until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("proj")) as c:
        yield c


def pod(name: str, script: str, mounts: list[dict[str, Any]], volumes: list[dict[str, Any]],
        labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    container = {"name": "c", "image": "busybox:latest", "command": ["sh", "-c", script],
                 "volumeMounts": mounts,
                 "resources": {"limits": {"cpu": "50m", "memory": "64Mi"}}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}, "annotations": {"team": "blue"}},
            "spec": {"containers": [container], "volumes": volumes,
                     "terminationGracePeriodSeconds": 1, **spec}}


@pytest.fixture(autouse=True)
def no_pods_left(cluster: NodeCluster) -> Iterator[None]:
    """Each test's pods go when it ends, so the next one finds room on the node."""
    yield
    cluster.kubectl("delete", "pods", "--all", "--wait=false", check=False)


def exec_(cluster: NodeCluster, name: str, *cmd: str) -> str:
    return cluster.kubectl("exec", name, "--", *cmd).stdout


def mounts_under(path: Path) -> list[str]:
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == real or p.startswith(real + "/")]


def test_downward_api_files_follow_the_pod(cluster: NodeCluster) -> None:
    items = [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "meta/name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "meta/namespace", "fieldRef": {"fieldPath": "metadata.namespace"}},
        {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
        {"path": "cpu_limit", "resourceFieldRef": {"containerName": "c", "resource": "limits.cpu",
                                                   "divisor": "1m"}},
        {"path": "mem_limit", "resourceFieldRef": {"containerName": "c",
                                                   "resource": "limits.memory",
                                                   "divisor": "1Mi"}},
    ]
    cluster.apply(pod("dapi", "sleep 3600", [{"name": "info", "mountPath": "/etc/info"}],
                      [{"name": "info", "downwardAPI": {"items": items}}], {"app": "web"}))
    p = cluster.wait_running("dapi", timeout=60)
    assert exec_(cluster, "dapi", "cat", "/etc/info/labels") == 'app="web"'
    annotations = exec_(cluster, "dapi", "cat", "/etc/info/annotations").split("\n")
    assert 'team="blue"' in annotations
    applied = [a for a in annotations if a.startswith("kubectl.kubernetes.io/last-applied")]
    assert applied and applied[0].split("=", 1)[1].startswith('"{\\"apiVersion\\":')  # Go's %q
    assert exec_(cluster, "dapi", "cat", "/etc/info/meta/name") == "dapi"
    assert exec_(cluster, "dapi", "cat", "/etc/info/meta/namespace") == "default"
    assert exec_(cluster, "dapi", "cat", "/etc/info/uid") == p["metadata"]["uid"]
    assert exec_(cluster, "dapi", "cat", "/etc/info/cpu_limit") == "50"
    assert exec_(cluster, "dapi", "cat", "/etc/info/mem_limit") == "64"
    assert exec_(cluster, "dapi", "stat", "-L", "-c", "%a", "/etc/info/uid").strip() == "644"
    cluster.kubectl("label", "pod", "dapi", "tier=front")
    until(lambda: exec_(cluster, "dapi", "cat", "/etc/info/labels") == 'app="web"\ntier="front"',
          30, "labels file updated")


def test_projected_volume_joins_sources_in_one_directory(cluster: NodeCluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "proj-cm"},
                   "data": {"app.conf": "port=80", "unused": "x"}})
    cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "proj-sec"},
                   "data": {"pw": base64.b64encode(b"hunter2").decode()}})
    sources = [
        {"configMap": {"name": "proj-cm", "items": [{"key": "app.conf", "path": "conf/app.conf"}]}},
        {"secret": {"name": "proj-sec", "items": [{"key": "pw", "path": "pw", "mode": 0o400}]}},
        {"downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
        {"serviceAccountToken": {"path": "vault-token", "audience": "vault",
                                 "expirationSeconds": 600}},
    ]
    cluster.apply(pod("proj", "sleep 3600", [{"name": "all", "mountPath": "/projected"}],
                      [{"name": "all", "projected": {"sources": sources, "defaultMode": 0o440}}]))
    cluster.wait_running("proj", timeout=60)
    listing = exec_(cluster, "proj", "sh", "-c", "cd /projected && ls -1 . conf").split()
    assert {"conf", "pw", "name", "vault-token", "app.conf"} <= set(listing)
    assert "unused" not in listing
    assert exec_(cluster, "proj", "cat", "/projected/conf/app.conf") == "port=80"
    assert exec_(cluster, "proj", "cat", "/projected/pw") == "hunter2"
    assert exec_(cluster, "proj", "cat", "/projected/name") == "proj"
    assert exec_(cluster, "proj", "stat", "-L", "-c", "%a", "/projected/pw").strip() == "400"
    assert exec_(cluster, "proj", "stat", "-L", "-c", "%a", "/projected/name").strip() == "440"
    token = exec_(cluster, "proj", "cat", "/projected/vault-token")
    part = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert claims["aud"] == ["vault"] and claims["exp"] - claims["iat"] == 600
    # A token for another audience is not accepted by the API server.
    refused = cluster.kubectl("get", "pods", check=False, kubeconfig=cluster.server.token_kubeconfig(token))
    assert refused.returncode != 0 and "Unauthorized" in refused.stderr
    assert "tmpfs" in exec_(cluster, "proj", "sh", "-c", "grep ' /projected ' /proc/mounts")


def test_fs_group_owns_volumes_and_new_files(cluster: NodeCluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fs-cm"},
                   "data": {"k": "v"}})
    script = "touch /data/made-by-me; sleep 3600"
    cluster.apply(pod("fsg", script, [{"name": "data", "mountPath": "/data"},
                                      {"name": "cfg", "mountPath": "/cfg"}],
                      [{"name": "data", "emptyDir": {}},
                       {"name": "cfg", "configMap": {"name": "fs-cm"}}],
                      securityContext={"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000}))
    cluster.wait_running("fsg", timeout=60)
    assert exec_(cluster, "fsg", "id", "-u").strip() == "1000"
    assert "2000" in exec_(cluster, "fsg", "id", "-G").split()
    assert exec_(cluster, "fsg", "stat", "-c", "%g %a", "/data").strip() == "2000 2777"
    # The setgid directory hands its group to what the container creates.
    assert exec_(cluster, "fsg", "stat", "-c", "%u %g", "/data/made-by-me").strip() == "1000 2000"
    assert exec_(cluster, "fsg", "stat", "-L", "-c", "%g", "/cfg/k").strip() == "2000"


def test_empty_dir_over_its_size_limit_evicts_the_pod(cluster: NodeCluster) -> None:
    script = "dd if=/dev/zero of=/scratch/fill bs=1024 count=3072; sleep 3600"
    cluster.apply(pod("hog", script, [{"name": "scratch", "mountPath": "/scratch"}],
                      [{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}]))
    p = cluster.wait_for("hog", lambda p: (p.get("status") or {}).get("phase") == "Failed",
                         timeout=60, what="eviction")
    status = p["status"]
    assert status["reason"] == "Evicted"
    assert status["message"] == 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". '
    events = json.loads(cluster.kubectl("get", "events", "--field-selector",
                                        "involvedObject.name=hog", "-o", "json").stdout)["items"]
    assert any(e["reason"] == "Evicted" and e["type"] == "Warning" for e in events)
    assert all(s.get("state", {}).get("terminated") for s in status["containerStatuses"])


def test_finished_pod_is_unmounted_but_keeps_its_empty_dir(cluster: NodeCluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "done-sec"},
                   "stringData": {"k": "v"}})
    cluster.apply(pod("done", "cat /sec/k > /out/copy", [
        {"name": "out", "mountPath": "/out"}, {"name": "sec", "mountPath": "/sec"}],
        [{"name": "out", "emptyDir": {}}, {"name": "sec", "secret": {"secretName": "done-sec"}}],
        restartPolicy="Never"))
    p = cluster.wait_for("done", lambda p: (p.get("status") or {}).get("phase") == "Succeeded",
                         timeout=60, what="Succeeded")
    pod_dir = cluster.agent.data_dir / "agent" / "pods" / p["metadata"]["uid"]
    volumes = pod_dir / "volumes"
    until(lambda: not mounts_under(pod_dir), 30, "the finished pod's volumes unmounted")
    assert not (volumes / "kubernetes.io~secret").exists()
    assert not (volumes / "kubernetes.io~projected").exists()  # the token volume too
    assert (volumes / "kubernetes.io~empty-dir" / "out" / "copy").read_text() == "v"
    cluster.kubectl("delete", "pod", "done", "--wait=false")
    cluster.wait_gone("done", timeout=30)
    until(lambda: not pod_dir.exists(), 30, "the deleted pod's directory removed")
