"""Reaching a pod from the host as a user does on day one: `kubectl port-forward` to a pod, a
Service and a Deployment with kubectl 1.27 (SPDY/3.1), 1.32 and 1.33 (SPDY tunnelled in a
WebSocket), through the API server to the kubelet, which connects inside the pod's network
namespace; `kubectl get --raw` through pods/proxy and services/proxy; and an agent started
with `--max-pods 2` that reports that capacity and refuses a third pod with OutOfpods."""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.cluster import kubectl_binary
from tests.helpers.node import NodeCluster, running_node

pytestmark = pytest.mark.root

VERSIONS = pytest.mark.parametrize("version", ["1.27", "1.32", "1.33"])
FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)")
PAGE = "hello from web\n"
WEB_SCRIPT = f"mkdir -p /www && printf '{PAGE}' > /www/index.html && exec httpd -f -p 8080 -h /www"


def web_objects() -> list[dict[str, Any]]:
    labels = {"app": "web"}
    container = {"name": "httpd", "image": "busybox:latest", "command": ["sh", "-c", WEB_SCRIPT],
                 "ports": [{"containerPort": 8080, "name": "http"}],
                 "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": labels},
           "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
    return [pod, service]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("node"), agent_args=["--max-pods", "2"]) as c:
        for obj in web_objects():
            c.apply(obj)
        c.wait_for("web", lambda p: any(cond.get("type") == "Ready" and cond.get("status") == "True"
                                        for cond in (p.get("status") or {}).get("conditions") or []), timeout=60)
        yield c


class PortForward:
    """A running `kubectl port-forward TARGET 0:PORT`, and the local port it chose."""

    def __init__(self, c: NodeCluster, version: str, target: str, port: int) -> None:
        server = c.server
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        self.proc = subprocess.Popen(
            [kubectl_binary(version), f"--kubeconfig={server.kubeconfig}",
             f"--cache-dir={server.cache_root / version}", "port-forward", target, f"0:{port}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.local_port = self._wait_forwarding(c)

    def _wait_forwarding(self, c: NodeCluster, timeout: float = 30) -> int:
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        seen = ""
        while time.monotonic() < deadline:
            if not sel.select(timeout=1):
                if self.proc.poll() is not None:
                    break
                continue
            line = self.proc.stdout.readline()
            if not line:
                break
            seen += line
            m = FORWARDING.search(line)
            if m:
                return int(m.group(1))
        self.stop()
        raise AssertionError(f"no 'Forwarding from' line: {seen!r}\n{self.stderr}\n{c.server.log_tail()}")

    def get(self, path: str = "/index.html") -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.local_port}{path}", timeout=20) as r:
            return str(r.read().decode())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr = self.proc.stderr.read() if self.proc.stderr else ""


@VERSIONS
@pytest.mark.parametrize(("target", "port"), [("pod/web", 8080), ("svc/web", 80), ("web", 8080)])
def test_port_forward_serves_a_get_from_the_host(cluster: NodeCluster, version: str, target: str,
                                                 port: int) -> None:
    pf = PortForward(cluster, version, target, port)
    try:
        # two connections in one session: each is its own pair of streams
        assert pf.get() == PAGE
        assert pf.get() == PAGE
    finally:
        pf.stop()


@pytest.mark.parametrize("version", ["1.27", "1.33"])
def test_port_forward_to_a_closed_port_reports_the_kubelets_error(cluster: NodeCluster, version: str) -> None:
    pf = PortForward(cluster, version, "pod/web", 8081)
    try:
        with pytest.raises(OSError):
            pf.get()
        time.sleep(1)
    finally:
        pf.stop()
    assert "error forwarding port 8081 to pod" in pf.stderr, pf.stderr
    assert "dial tcp4 127.0.0.1:8081: connect: connection refused" in pf.stderr, pf.stderr


def test_port_forward_to_a_deployment(cluster: NodeCluster) -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "webd"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "webd"}},
                       "template": {"metadata": {"labels": {"app": "webd"}},
                                    "spec": {**web_objects()[0]["spec"]}}}}
    cluster.apply(deploy)
    try:
        cluster.kubectl("rollout", "status", "deploy/webd", "--timeout=60s")
        pf = PortForward(cluster, "1.33", "deploy/webd", 8080)
        try:
            assert pf.get() == PAGE
        finally:
            pf.stop()
    finally:
        cluster.kubectl("delete", "deploy/webd", "--wait=true")
        cluster.kubectl("wait", "--for=delete", "pod", "-l", "app=webd", "--timeout=60s")


@pytest.mark.parametrize("path", ["pods/web:8080/proxy/index.html", "pods/http:web:8080/proxy/index.html",
                                  "services/web:http/proxy/index.html", "services/web:80/proxy/index.html"])
def test_get_raw_through_pod_and_service_proxy(cluster: NodeCluster, path: str) -> None:
    out = cluster.kubectl("get", "--raw", f"/api/v1/namespaces/default/{path}")
    assert out.stdout == PAGE


def test_proxy_errors_are_kubernetes_statuses(cluster: NodeCluster) -> None:
    closed = cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/pods/web:8081/proxy/", check=False)
    assert closed.returncode != 0
    assert "error trying to reach service: dial tcp" in closed.stderr and "connection refused" in closed.stderr
    no_port = cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/services/web:99/proxy/", check=False)
    assert 'no service port 99 found for service "web"' in no_port.stderr
    # no port: the endpoint port without a name, and this one has a name (as kube-apiserver)
    unnamed = cluster.kubectl("get", "--raw", "/api/v1/namespaces/default/services/web/proxy/", check=False)
    assert 'Error from server (ServiceUnavailable): no endpoints available for service "web"' in unnamed.stderr


def test_kubectl_proxy_reaches_the_api_and_the_pod(cluster: NodeCluster) -> None:
    server = cluster.server
    proc = subprocess.Popen(
        [kubectl_binary("1.33"), f"--kubeconfig={server.kubeconfig}", "proxy", "--port=0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"Starting to serve on 127\.0\.0\.1:(\d+)", line)
        assert m, line
        base = f"http://127.0.0.1:{m.group(1)}"
        with urllib.request.urlopen(f"{base}/api/v1/namespaces/default/pods/web", timeout=20) as r:
            assert json.loads(r.read())["metadata"]["name"] == "web"
        with urllib.request.urlopen(f"{base}/api/v1/namespaces/default/services/web:http/proxy/index.html",
                                    timeout=20) as r:
            assert r.read().decode() == PAGE
    finally:
        proc.terminate()
        proc.wait(10)


def test_max_pods_is_the_capacity_and_a_pod_over_it_is_rejected(cluster: NodeCluster) -> None:
    node = json.loads(cluster.kubectl("get", "node", cluster.node_name, "-o", "json").stdout)
    assert node["status"]["capacity"]["pods"] == "2"
    assert node["status"]["allocatable"]["pods"] == "2"

    def pod(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"nodeName": cluster.node_name, "terminationGracePeriodSeconds": 0,
                         "containers": [{"name": "c", "image": "busybox:latest",
                                         "command": ["sleep", "3600"]}]}}

    cluster.apply(pod("second"))
    try:
        cluster.wait_running("second", timeout=60)
        cluster.apply(pod("third"))
        third = cluster.wait_for("third", lambda p: (p.get("status") or {}).get("phase") == "Failed", timeout=60)
        assert third["status"]["reason"] == "OutOfpods"
        assert third["status"]["message"] == ("Pod was rejected: Node didn't have enough resource: pods, "
                                              "requested: 1, used: 2, capacity: 2")
        events = cluster.kubectl("get", "events", "--field-selector", "involvedObject.name=third",
                                 "-o", "json").stdout
        assert any(e["reason"] == "OutOfpods" and e["type"] == "Warning"
                   for e in json.loads(events)["items"])
    finally:
        cluster.kubectl("delete", "pod", "second", "third", "--ignore-not-found", "--wait=false")
