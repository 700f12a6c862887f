"""Pod volumes with real containers through kubectl: emptyDir shared and surviving a restart,
memory emptyDir on tmpfs, configMap/secret files (modes, items, updates also through subPath),
readOnly mounts refusing writes, escaping subPaths refused, a missing configMap's FailedMount."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node
from tests.helpers.wait import until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("vol")) as c:
        yield c


def pod(name: str, containers: list[dict[str, Any]], volumes: list[dict[str, Any]],
        **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers, "volumes": volumes,
                     "terminationGracePeriodSeconds": 1, **spec}}


def sh(name: str, script: str, mounts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:latest", "command": ["sh", "-c", script],
            "volumeMounts": mounts, **extra}


def exec_(cluster: NodeCluster, name: str, *cmd: str, container: str | None = None,
          check: bool = True) -> str:
    args = ["exec", name] + (["-c", container] if container else []) + ["--", *cmd]
    result = cluster.server.kubectl(*args, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}\n{cluster.agent.log_tail()}")
    return result.stdout + (result.stderr if not check else "")


def events_of(cluster: NodeCluster, name: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", "events", "--field-selector", f"involvedObject.name={name}",
                          "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def test_empty_dir_shared_survives_restart_and_memory_is_tmpfs(cluster: NodeCluster) -> None:
    # The writer dies when told to (liveness probes belong to another issue; a crash restarts
    # the container the same way).
    writer = sh("writer", "date >> /cache/boots; while [ ! -e /cache/kill ]; do sleep 0.2; done; "
                "rm -f /cache/kill; exit 1", [{"name": "cache", "mountPath": "/cache"}])
    reader = sh("reader", "sleep 3600", [{"name": "cache", "mountPath": "/shared"},
                                        {"name": "mem", "mountPath": "/mem"}])
    cluster.apply(pod("ed", [writer, reader], [{"name": "cache", "emptyDir": {}},
                                               {"name": "mem", "emptyDir": {"medium": "Memory"}}]))
    cluster.wait_running("ed", timeout=60)
    assert exec_(cluster, "ed", "cat", "/shared/boots", container="reader").count("\n") == 1
    assert "tmpfs" in exec_(cluster, "ed", "sh", "-c", "grep ' /mem ' /proc/mounts", container="reader")
    exec_(cluster, "ed", "touch", "/shared/kill", container="reader")

    def restarted() -> bool:
        statuses = cluster.pod("ed")["status"].get("containerStatuses") or []
        return any(s["name"] == "writer" and s.get("restartCount", 0) >= 1 for s in statuses)

    until(restarted, 60, "writer restart after it died")
    until(lambda: exec_(cluster, "ed", "cat", "/shared/boots", container="reader").count("\n") >= 2,
          30, "second boot line in the emptyDir")


def test_configmap_files_modes_items_and_updates(cluster: NodeCluster) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app"},
                   "data": {"a.conf": "one", "b.conf": "two"}})
    cluster.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                   "stringData": {"password": "s3cret"}})
    c = sh("app", "sleep 3600", [
        {"name": "all", "mountPath": "/all"},
        {"name": "some", "mountPath": "/some"},
        {"name": "all", "mountPath": "/etc/a.conf", "subPath": "a.conf"},
        {"name": "sec", "mountPath": "/sec"}])
    cluster.apply(pod("cm", [c], [
        {"name": "all", "configMap": {"name": "app"}},
        {"name": "some", "configMap": {"name": "app", "defaultMode": 0o600,
                                       "items": [{"key": "b.conf", "path": "sub/b"},
                                                 {"key": "a.conf", "path": "a", "mode": 0o400}]}},
        {"name": "sec", "secret": {"secretName": "creds"}}]))
    cluster.wait_running("cm", timeout=60)
    assert exec_(cluster, "cm", "cat", "/all/a.conf") == "one"
    assert exec_(cluster, "cm", "stat", "-L", "-c", "%a", "/all/a.conf").strip() == "644"
    assert exec_(cluster, "cm", "stat", "-L", "-c", "%a", "/some/sub/b").strip() == "600"
    assert exec_(cluster, "cm", "stat", "-L", "-c", "%a", "/some/a").strip() == "400"
    assert "b.conf" not in exec_(cluster, "cm", "ls", "/some")
    assert exec_(cluster, "cm", "cat", "/sec/password") == "s3cret"
    assert "tmpfs" in exec_(cluster, "cm", "sh", "-c", "grep ' /sec ' /proc/mounts")
    cluster.kubectl("patch", "configmap", "app", "-p", '{"data":{"a.conf":"changed"}}')
    started = time.monotonic()
    until(lambda: exec_(cluster, "cm", "cat", "/all/a.conf") == "changed", 90, "configMap update")
    until(lambda: exec_(cluster, "cm", "cat", "/etc/a.conf") == "changed", 90,
          "configMap update through subPath")
    assert time.monotonic() - started < 90


def test_read_only_mount_refuses_writes_and_status_reports_mounts(cluster: NodeCluster) -> None:
    c = sh("ro", "sleep 3600", [{"name": "d", "mountPath": "/ro", "readOnly": True},
                                {"name": "w", "mountPath": "/rw"}])
    cluster.apply(pod("ro", [c], [{"name": "d", "emptyDir": {}}, {"name": "w", "emptyDir": {}}],
                      automountServiceAccountToken=False))
    cluster.wait_running("ro", timeout=60)
    out = exec_(cluster, "ro", "sh", "-c", "touch /ro/x 2>&1; echo rc=$?", check=False)
    assert "Read-only file system" in out and "rc=1" in out
    # As a 1.32 kubelet writes them: each mount of the spec, read-only ones not recursively so.
    raw = cluster.kubectl("get", "pod", "ro", "-o", "json").stdout
    status = json.loads(raw)["status"]
    assert status["containerStatuses"][0]["volumeMounts"] == [
        {"name": "d", "mountPath": "/ro", "readOnly": True, "recursiveReadOnly": "Disabled"},
        {"name": "w", "mountPath": "/rw"}]
    # Conditions carry `lastProbeTime: null`, as Go writes a zero metav1.Time.
    assert {cond["type"] for cond in status["conditions"]} >= {"Ready", "PodScheduled"}
    assert all("lastProbeTime" in cond and cond["lastProbeTime"] is None for cond in status["conditions"])


def test_escaping_subpath_is_refused_with_an_event(cluster: NodeCluster) -> None:
    # An init container plants symlinks in the emptyDir; the app containers mount them by subPath.
    plant = sh("plant", "ln -s / /vol/root; mkdir /vol/d; ln -s ../../ /vol/d/up",
               [{"name": "v", "mountPath": "/vol"}])
    to_root = sh("root", "sleep 3600", [{"name": "v", "mountPath": "/host", "subPath": "root"}])
    to_up = sh("up", "sleep 3600", [{"name": "v", "mountPath": "/host", "subPath": "d/up"}])
    cluster.apply(pod("esc", [to_root, to_up], [{"name": "v", "emptyDir": {}}],
                      initContainers=[plant]))

    def refused() -> bool:
        st = cluster.pod("esc")["status"]
        reasons = [((s.get("state") or {}).get("waiting") or {}).get("reason")
                   for s in st.get("containerStatuses") or []]
        return reasons == ["CreateContainerConfigError"] * 2

    until(refused, 60, "CreateContainerConfigError for both escaping subPaths")
    msgs = [e["message"] for e in events_of(cluster, "esc")]
    for name in ("root", "up"):
        assert any(f'failed to prepare subPath for volumeMount "v" of container "{name}"' in m
                   for m in msgs), msgs


def test_missing_configmap_keeps_pod_creating_with_failed_mount(cluster: NodeCluster) -> None:
    c = sh("c", "sleep 3600", [{"name": "cfg", "mountPath": "/cfg"}])
    cluster.apply(pod("nocm", [c], [{"name": "cfg", "configMap": {"name": "later"}}]))

    def failed_mount() -> bool:
        return any(e["reason"] == "FailedMount" for e in events_of(cluster, "nocm"))

    until(failed_mount, 30, "FailedMount event")
    event = next(e for e in events_of(cluster, "nocm") if e["reason"] == "FailedMount")
    assert event["message"] == 'MountVolume.SetUp failed for volume "cfg" : configmap "later" not found'
    st = cluster.pod("nocm")["status"]
    assert st["phase"] == "Pending"
    assert st["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"},
                   "data": {"k": "v"}})
    cluster.wait_running("nocm", timeout=60)
