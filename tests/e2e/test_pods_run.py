"""Pods run as real containers: a 2-container pod shares network, UTS and IPC but not PIDs;
the node and other pods reach it by IP; restart policies end pods as Kubernetes does; a
missing image gives ErrImagePull then ImagePullBackOff; deletion stops and removes everything."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("node")) as c:
        yield c


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers, "terminationGracePeriodSeconds": 2, **spec}}


def sh(name: str, script: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:latest", "command": ["sh", "-c", script], **extra}


def log_file(cluster: NodeCluster, p: dict[str, Any], container: str, attempt: int) -> Path:
    meta = p["metadata"]
    return (cluster.agent.data_dir / "agent" / "pod-logs" /
            f"{meta['namespace']}_{meta['name']}_{meta['uid']}" / container / f"{attempt}.log")


def log_text(path: Path) -> str:
    """The content of a CRI log file, without timestamps and stream tags."""
    lines = path.read_text().splitlines()
    return "\n".join(line.split(" ", 3)[3] if line.count(" ") >= 3 else "" for line in lines)


def wait_log(cluster: NodeCluster, p: dict[str, Any], container: str, text: str,
             attempt: int = 0, timeout: float = 10) -> str:
    path = log_file(cluster, p, container, attempt)
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        if path.exists():
            content = log_text(path)
            if text in content:
                return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log of {container}: {content!r}")


WEB = sh("web", "echo hello from web > /tmp/index.html; cat /proc/self/ns/ipc >/dev/null; "
                "exec httpd -f -p 8080 -h /tmp")


def test_two_containers_share_network_uts_ipc_but_not_pids(cluster: NodeCluster) -> None:
    side = sh("side", "until wget -q -O - http://127.0.0.1:8080/; do sleep 0.1; done; "
                      "echo host=$(hostname); echo ipc=$(readlink /proc/self/ns/ipc); "
                      "echo pid=$(readlink /proc/self/ns/pid); echo procs=$(pidof httpd || echo none); "
                      "exec sleep 3600")
    web = sh("web", "echo hello from web > /tmp/index.html; echo host=$(hostname); "
                    "echo ipc=$(readlink /proc/self/ns/ipc); echo pid=$(readlink /proc/self/ns/pid); "
                    "exec httpd -f -p 8080 -h /tmp")
    cluster.apply(pod("pair", [web, side]))
    p = cluster.wait_running("pair")
    assert [c["ready"] for c in p["status"]["containerStatuses"]] == [True, True]
    side_log = wait_log(cluster, p, "side", "procs=")
    web_log = wait_log(cluster, p, "web", "pid=")
    assert "hello from web" in side_log  # the sidecar reached the web server on localhost

    def field(text: str, key: str) -> str:
        return next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "="))

    assert field(side_log, "host") == field(web_log, "host") == "pair"
    assert field(side_log, "ipc") == field(web_log, "ipc")
    assert field(side_log, "pid") != field(web_log, "pid")
    assert field(side_log, "procs") == "none"  # the web server's process is not visible
    ip = p["status"]["podIP"]
    assert ip.startswith(cluster.pod_cidr.rsplit(".", 1)[0] + ".")
    with urllib.request.urlopen(f"http://{ip}:8080/", timeout=5) as resp:  # node -> pod
        assert resp.read() == b"hello from web\n"
    client = sh("client", f"until wget -q -O - http://{ip}:8080/; do sleep 0.2; done; exec sleep 3600")
    cluster.apply(pod("client", [client]))
    c = cluster.wait_running("client")
    assert c["status"]["podIP"] != ip
    assert "hello from web" in wait_log(cluster, c, "client", "hello from web")  # pod -> pod
    out = cluster.kubectl("get", "pod", "pair").stdout
    assert "2/2" in out and "Running" in out
    cluster.kubectl("delete", "pod", "pair", "client", "--wait=false")
    cluster.wait_gone("pair")
    cluster.wait_gone("client")
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{ip}:8080/", timeout=1)


def test_never_ends_failed_and_onfailure_exit_0_ends_succeeded(cluster: NodeCluster) -> None:
    cluster.apply(pod("never", [sh("main", "echo bye; exit 3")], restartPolicy="Never"))
    cluster.apply(pod("onfail", [sh("main", "exit 0")], restartPolicy="OnFailure"))
    p = cluster.wait_for("never", lambda p: p["status"].get("phase") == "Failed", what="Failed")
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 3 and term["reason"] == "Error"
    assert p["status"]["containerStatuses"][0]["restartCount"] == 0
    q = cluster.wait_for("onfail", lambda p: p["status"].get("phase") == "Succeeded",
                         what="Succeeded")
    term = q["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    ready = next(c for c in q["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "PodCompleted"
    out = cluster.kubectl("get", "pods", "never", "onfail").stdout
    assert "Error" in out and "Completed" in out
    cluster.kubectl("delete", "pod", "never", "onfail")


def test_crash_loop_backoff_grows_and_keeps_previous_log(cluster: NodeCluster) -> None:
    cluster.apply(pod("crash", [sh("main", "echo run-$(date +%s%N); exit 1")]))
    p = cluster.wait_for(
        "crash", lambda p: any(cs["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"
                               for cs in p["status"].get("containerStatuses") or []),
        timeout=20, what="CrashLoopBackOff")
    cs = p["status"]["containerStatuses"][0]
    assert cs["restartCount"] == 1
    assert "back-off 10s restarting failed container=main" in cs["state"]["waiting"]["message"]
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert p["status"]["phase"] == "Running"
    p = cluster.wait_for(
        "crash", lambda p: "back-off 20s" in str(p["status"]["containerStatuses"][0]["state"]),
        timeout=25, what="the second, longer back-off")
    assert p["status"]["containerStatuses"][0]["restartCount"] == 2
    # the previous instance's log is kept beside the current one
    assert "run-" in log_text(log_file(cluster, p, "main", 1))
    assert "run-" in log_text(log_file(cluster, p, "main", 2))
    assert "CrashLoopBackOff" in cluster.kubectl("get", "pod", "crash").stdout
    events = cluster.kubectl("get", "events", "--field-selector",
                             "involvedObject.name=crash").stdout
    assert "BackOff" in events and "Started" in events
    cluster.kubectl("delete", "pod", "crash", "--grace-period=0", "--force")
    cluster.wait_gone("crash")


def test_missing_image_gives_err_image_pull_then_backoff(cluster: NodeCluster) -> None:
    cluster.apply(pod("noimage", [{"name": "main", "image": "busybox-does-not-exist:1.0"}]))
    seen: set[str] = set()

    def reason(p: dict[str, Any]) -> bool:
        for cs in p["status"].get("containerStatuses") or []:
            waiting = cs["state"].get("waiting") or {}
            if waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff"):
                seen.add(waiting["reason"])
                if waiting["reason"] == "ErrImagePull":
                    assert "busybox-does-not-exist" in waiting.get("message", "")
        return seen == {"ErrImagePull", "ImagePullBackOff"}

    def backing_off(p: dict[str, Any]) -> bool:
        reason(p)
        return "ImagePullBackOff" in seen

    cluster.wait_for("noimage", backing_off, timeout=20, what="ImagePullBackOff")
    if "ErrImagePull" not in seen:
        # ErrImagePull shows 3 s; on a busy machine the kubelet's next status write may already
        # say ImagePullBackOff. Its events keep what it reported.
        events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=noimage").stdout
        assert 'Failed to pull image "busybox-does-not-exist:1.0"' in events, events
        assert "Error: ErrImagePull" in events, events
    assert cluster.pod("noimage")["status"]["phase"] == "Pending"
    cluster.kubectl("delete", "pod", "noimage")
    cluster.wait_gone("noimage")


def test_delete_runs_prestop_then_stops_and_removes(cluster: NodeCluster) -> None:
    marker = "/dev/shm/prestop"
    main = sh("main", "trap 'exit 0' TERM; while :; do sleep 0.1; done",
              lifecycle={"preStop": {"exec": {"command": ["sh", "-c", f"echo stopping > {marker}"]}}})
    watcher = sh("watch", f"while :; do [ -f {marker} ] && echo saw-prestop; sleep 0.1; done")
    cluster.apply(pod("stopme", [main, watcher]))
    p = cluster.wait_running("stopme")
    start = time.monotonic()
    cluster.kubectl("delete", "pod", "stopme")  # waits until the object is gone
    assert time.monotonic() - start < 10
    cluster.wait_gone("stopme")
    uid = p["metadata"]["uid"]
    runtime_dir = Path(f"/run/kubelite-{cluster.cluster_id}/sandboxes") / uid
    assert not runtime_dir.exists()
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert uid not in netns
