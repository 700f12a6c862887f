"""What a pod spec asks of the node, checked inside real containers: hostname and subdomain,
hostNetwork/hostIPC/hostPID/shareProcessNamespace, securityContext (runAsUser/Group,
capabilities, readOnlyRootFilesystem, privileged), init containers in order, postStart and
preStop hooks (exec and httpGet), and malformed images refused at admission."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.cluster import free_port
from tests.helpers.node import NodeCluster, running_node

CAP_CHOWN = 0
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("node")) as c:
        yield c


def pod(name: str, containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": containers, "terminationGracePeriodSeconds": 1, **spec}}


def sleeper(name: str = "main", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox:latest", "command": ["sleep", "3600"], **extra}


def run(cluster: NodeCluster, name: str, *argv: str, container: str = "main",
        check: bool = True) -> str:
    result = cluster.server.kubectl("exec", name, "-c", container, "--", *argv, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"exec {argv} in {name}: {result.returncode}\n{result.stdout}\n"
                             f"{result.stderr}\n{cluster.agent.log_tail()}")
    return result.stdout


def cap_eff(cluster: NodeCluster, name: str, container: str = "main") -> int:
    status = run(cluster, name, "cat", "/proc/self/status", container=container)
    line = next(x for x in status.splitlines() if x.startswith("CapEff:"))
    return int(line.split()[1], 16)


def start(cluster: NodeCluster, manifest: dict[str, Any]) -> dict[str, Any]:
    cluster.apply(manifest)
    return cluster.wait_running(manifest["metadata"]["name"])


def delete(cluster: NodeCluster, *names: str) -> None:
    cluster.kubectl("delete", "pod", *names, "--wait=false")


def test_hostname_is_the_pod_name_or_spec_hostname_and_subdomain(cluster: NodeCluster) -> None:
    start(cluster, pod("plain-name", [sleeper()]))
    assert run(cluster, "plain-name", "hostname") == "plain-name\n"
    start(cluster, pod("named", [sleeper()], hostname="custom", subdomain="group"))
    assert run(cluster, "named", "hostname") == "custom\n"
    hosts = run(cluster, "named", "cat", "/etc/hosts")
    assert "custom.group.default.svc.cluster.local\tcustom" in hosts
    delete(cluster, "plain-name", "named")


def test_host_namespaces_are_honoured(cluster: NodeCluster) -> None:
    start(cluster, pod("hostns", [sleeper()], hostNetwork=True, hostIPC=True, hostPID=True))
    start(cluster, pod("podns", [sleeper()]))
    for ns in ("net", "ipc", "pid"):
        mine = os.readlink(f"/proc/self/ns/{ns}")
        assert run(cluster, "hostns", "readlink", f"/proc/self/ns/{ns}").strip() == mine
        assert run(cluster, "podns", "readlink", f"/proc/self/ns/{ns}").strip() != mine
    p = cluster.pod("hostns")
    assert p["status"]["podIP"] == p["status"]["hostIP"]
    assert run(cluster, "hostns", "hostname").strip() == socket.gethostname()
    # with hostPID the host's init is visible
    assert "1" in run(cluster, "hostns", "sh", "-c", "ls /proc | grep -x 1").split()
    delete(cluster, "hostns", "podns")


def test_share_process_namespace(cluster: NodeCluster) -> None:
    shared = [sleeper("a"), {"name": "b", "image": "busybox:latest",
                             "command": ["sh", "-c", "exec sleep 3599"]}]
    start(cluster, pod("shared", shared, shareProcessNamespace=True))
    start(cluster, pod("apart", [sleeper("a"), {"name": "b", "image": "busybox:latest",
                                                "command": ["sh", "-c", "exec sleep 3599"]}]))
    assert run(cluster, "shared", "sh", "-c", "ps -o args", container="a").count("sleep 3599") == 1
    assert "sleep 3599" not in run(cluster, "apart", "sh", "-c", "ps -o args", container="a")
    delete(cluster, "shared", "apart")


def test_security_context(cluster: NodeCluster) -> None:
    start(cluster, pod("sec", [
        sleeper("user", securityContext={"runAsUser": 1000, "runAsGroup": 3000}),
        sleeper("caps", securityContext={"capabilities": {"add": ["NET_ADMIN"], "drop": ["CHOWN"]}}),
        sleeper("ro", securityContext={"readOnlyRootFilesystem": True}),
        sleeper("priv", securityContext={"privileged": True}),
        sleeper("plain"),
    ], securityContext={"runAsGroup": 2000, "supplementalGroups": [4000]}))
    assert run(cluster, "sec", "id", "-u", container="user") == "1000\n"
    assert run(cluster, "sec", "id", "-g", container="user") == "3000\n"
    assert "4000" in run(cluster, "sec", "id", "-G", container="plain").split()
    assert run(cluster, "sec", "id", "-g", container="plain") == "2000\n"  # the pod's runAsGroup
    plain, caps = cap_eff(cluster, "sec", "plain"), cap_eff(cluster, "sec", "caps")
    assert plain & (1 << CAP_CHOWN) and not plain & (1 << CAP_NET_ADMIN)
    assert caps & (1 << CAP_NET_ADMIN) and not caps & (1 << CAP_CHOWN)
    assert not plain & (1 << CAP_SYS_ADMIN)
    assert cap_eff(cluster, "sec", "priv") & (1 << CAP_SYS_ADMIN)
    run(cluster, "sec", "ip", "link", "set", "lo", "mtu", "60000", container="caps")
    denied = cluster.server.kubectl("exec", "sec", "-c", "plain", "--", "ip", "link", "set",
                                    "lo", "mtu", "50000", check=False)
    assert denied.returncode != 0
    ro = cluster.server.kubectl("exec", "sec", "-c", "ro", "--", "touch", "/newfile", check=False)
    assert ro.returncode != 0 and "Read-only file system" in ro.stdout + ro.stderr
    run(cluster, "sec", "touch", "/newfile", container="plain")
    run(cluster, "sec", "sh", "-c", "mkdir /tmp/m && mount -t tmpfs none /tmp/m", container="priv")
    assert "loop-control" in run(cluster, "sec", "ls", "/dev", container="priv").split()
    delete(cluster, "sec")


def test_init_containers_run_in_order_before_the_app(cluster: NodeCluster) -> None:
    vol = [{"name": "work", "mountPath": "/work"}]

    def step(name: str, script: str) -> dict[str, Any]:
        return {"name": name, "image": "busybox:latest", "command": ["sh", "-c", script],
                "volumeMounts": vol}

    start(cluster, pod("inits", [step("main", "echo main >> /work/order; exec sleep 3600")],
                       initContainers=[step("first", "sleep 0.5; echo first >> /work/order"),
                                       step("second", "test -f /work/order && "
                                                      "echo second >> /work/order")],
                       volumes=[{"name": "work", "emptyDir": {}}]))
    assert run(cluster, "inits", "cat", "/work/order").split() == ["first", "second", "main"]
    p = cluster.pod("inits")
    inits = p["status"]["initContainerStatuses"]
    assert [s["state"]["terminated"]["reason"] for s in inits] == ["Completed", "Completed"]
    assert inits[0]["state"]["terminated"]["finishedAt"] <= inits[1]["state"]["terminated"]["startedAt"]
    init_cond = next(c for c in p["status"]["conditions"] if c["type"] == "Initialized")
    assert init_cond["status"] == "True"
    delete(cluster, "inits")


class _Recorder(http.server.BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).paths.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        return None


def test_lifecycle_hooks_exec_and_http(cluster: NodeCluster) -> None:
    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Recorder.paths = []
    try:
        hook_http = {"httpGet": {"host": "127.0.0.1", "port": port, "path": "/poststart"}}
        stop_http = {"httpGet": {"host": "127.0.0.1", "port": port, "path": "/prestop"}}
        hook_exec = {"exec": {"command": ["sh", "-c", "echo from-poststart > /tmp/hooked"]}}
        manifest = pod("hooks", [
            sleeper("web", lifecycle={"postStart": hook_http, "preStop": stop_http}),
            sleeper("exec", lifecycle={"postStart": hook_exec}),
        ])
        start(cluster, manifest)
        assert "/poststart" in _Recorder.paths
        assert run(cluster, "hooks", "cat", "/tmp/hooked", container="exec") == "from-poststart\n"
        cluster.kubectl("delete", "pod", "hooks")
        assert "/prestop" in _Recorder.paths
        # a failing postStart kills the container (FailedPostStartHook) and it is restarted
        bad = pod("badhook", [sleeper(lifecycle={"postStart": {"exec": {"command": ["false"]}}})])
        cluster.apply(bad)
        cluster.wait_for("badhook", lambda p: any(
            cs["restartCount"] >= 1 for cs in p["status"].get("containerStatuses") or []),
            timeout=30, what="a restart after the failed hook")
        events = cluster.kubectl("get", "events", "--field-selector",
                                 "involvedObject.name=badhook").stdout
        assert "FailedPostStartHook" in events
        delete(cluster, "badhook")
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("image", ["Busybox:latest", "busybox:lat@st", "busy box"])
def test_malformed_image_is_refused_at_admission(cluster: NodeCluster, image: str) -> None:
    result = cluster.server.kubectl("apply", "-f", "-", check=False, input=(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: badimage}\nspec:\n"
        f"  containers: [{{name: main, image: '{image}'}}]\n"))
    assert result.returncode != 0
    assert "spec.containers[0].image: Invalid value" in result.stderr
    assert "invalid reference format" in result.stderr
    assert cluster.server.kubectl("get", "pod", "badimage", check=False).returncode != 0


def test_pod_events_tell_the_story(cluster: NodeCluster) -> None:
    start(cluster, pod("story", [sleeper()]))
    time.sleep(0.5)
    events = cluster.kubectl("get", "events", "--field-selector",
                             "involvedObject.name=story").stdout
    for reason in ("Pulled", "Created", "Started"):
        assert reason in events
    delete(cluster, "story")


def test_pod_ip_reaches_env_and_etc_hosts(cluster: NodeCluster) -> None:
    """CNI runs while containers are created: /etc/hosts still gets the IP before start, and a
    container whose env reads status.podIP waits for it."""
    with_env = sleeper("env", env=[{"name": "MY_IP", "valueFrom": {
        "fieldRef": {"fieldPath": "status.podIP"}}}])
    start(cluster, pod("ipenv", [with_env]))
    start(cluster, pod("iphosts", [sleeper()]))
    ip = cluster.pod("ipenv")["status"]["podIP"]
    assert run(cluster, "ipenv", "sh", "-c", "echo $MY_IP", container="env") == f"{ip}\n"
    hosts_ip = cluster.pod("iphosts")["status"]["podIP"]
    assert f"{hosts_ip}\tiphosts" in run(cluster, "iphosts", "cat", "/etc/hosts")
    delete(cluster, "ipenv", "iphosts")
