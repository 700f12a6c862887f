"""In-cluster clients on a real node, through the real kubectl: the API server keeps the
`default/kubernetes` Service (first service IP, 443 -> its port) with its Endpoints and
EndpointSlice, and puts it back when deleted; a pod reaches `https://kubernetes.default.svc`
with its service-account token (and the host verifies the certificate for that name on the
ClusterIP); pods get KUBERNETES_SERVICE_* always and the Service link variables when
enableServiceLinks, user env winning, and HOSTNAME; pods resolve names through kube-dns at the
tenth service IP, answered by this node's DNS; NodePorts answer on 127.0.0.1 and on the node's
other addresses, also with externalTrafficPolicy: Local.
"""

from __future__ import annotations

import json
import random
import socket
import ssl
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from kubelite.apiserver.advertise import default_route_address
from kubelite.service_ips import dns_service_ip, kubernetes_service_ip
from tests.helpers.in_cluster import CALL_API, HOST_USR_MOUNT, HOST_USR_VOLUME, version_major
from tests.helpers.node import NodeCluster, running_node
from tests.helpers.wait import until

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

SERVE = "hostname > /www/index.html && exec httpd -f -p 8080 -h /www"


def pod(name: str, command: str = "sleep 3600", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"terminationGracePeriodSeconds": 0, **spec, "containers": [{
                "name": "c", "image": "busybox:latest", "command": ["sh", "-c", command],
                "env": [{"name": "WEB_SERVICE_PORT", "value": "mine"}],
                "ports": [{"name": "http", "containerPort": 8080}]}]}}


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": "web"}, **spec,
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    # A node port range of its own: NodePorts now answer on every local address, so clusters
    # running side by side on this machine must not pick the same port.
    low = random.randrange(30000, 32600, 100)
    with running_node(tmp_path_factory.mktemp("incluster"),
                      server_args=["--service-node-port-range", f"{low}-{low + 99}"]) as c:
        c.apply(service("web"))  # before the pods: their link variables name it
        c.apply(pod("web", SERVE))
        c.apply(pod("client"))
        c.apply(pod("unlinked", enableServiceLinks=False))
        tls = pod("tls", volumes=[HOST_USR_VOLUME])
        tls["spec"]["containers"][0]["volumeMounts"] = [HOST_USR_MOUNT]
        c.apply(tls)
        for name in ("web", "client", "unlinked", "tls"):
            c.wait_running(name)
        yield c


def get_json(cluster: NodeCluster, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return obj


def pod_env(cluster: NodeCluster, name: str) -> dict[str, str]:
    out = cluster.kubectl("exec", name, "--", "env").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_api_server_keeps_the_kubernetes_service(cluster: NodeCluster) -> None:
    svc = get_json(cluster, "service", "kubernetes")
    assert svc["spec"]["clusterIP"] == kubernetes_service_ip(cluster.service_cidr)
    assert svc["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP",
                                     "targetPort": cluster.server.port}]
    ep = get_json(cluster, "endpoints", "kubernetes")
    assert ep["subsets"][0]["addresses"] == [{"ip": "127.0.0.1"}]  # it listens on 127.0.0.1
    assert ep["subsets"][0]["ports"][0]["port"] == cluster.server.port
    es = get_json(cluster, "endpointslice", "kubernetes")
    assert es["metadata"]["labels"]["kubernetes.io/service-name"] == "kubernetes"
    assert es["endpoints"][0]["addresses"] == ["127.0.0.1"]
    cluster.kubectl("delete", "service", "kubernetes")
    until(lambda: cluster.kubectl("get", "service", "kubernetes", check=False).returncode == 0,
               timeout=30, what="the kubernetes Service recreated")
    assert get_json(cluster, "service", "kubernetes")["spec"]["clusterIP"] == \
        kubernetes_service_ip(cluster.service_cidr)


def test_pod_calls_the_api_server_by_its_in_cluster_name(cluster: NodeCluster) -> None:
    out = cluster.kubectl("exec", "tls", "--", "sh", "-c", CALL_API).stdout
    assert out.startswith("HTTP/1.0 200"), out
    assert version_major(out) == "1", out
    # The host too verifies the certificate for that name on the ClusterIP.
    ctx = ssl.create_default_context(cafile=str(cluster.server.data_dir / "tls" / "ca.crt"))
    ip = kubernetes_service_ip(cluster.service_cidr)
    with socket.create_connection((ip, 443), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="kubernetes.default.svc") as tls:
        tls.sendall(b"GET /version HTTP/1.1\r\nHost: kubernetes.default.svc\r\nConnection: close\r\n"
                    + f"Authorization: Bearer {cluster.server.token()}\r\n\r\n".encode())
        assert tls.recv(4096).startswith(b"HTTP/1.1 200")


def test_pods_get_service_variables_and_hostname(cluster: NodeCluster) -> None:
    web_ip = get_json(cluster, "service", "web")["spec"]["clusterIP"]
    env = pod_env(cluster, "client")
    assert env["KUBERNETES_SERVICE_HOST"] == kubernetes_service_ip(cluster.service_cidr)
    assert env["KUBERNETES_SERVICE_PORT"] == "443" and env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert env["WEB_SERVICE_HOST"] == web_ip
    assert env["WEB_PORT"] == f"tcp://{web_ip}:80" and env["WEB_PORT_80_TCP_PROTO"] == "tcp"
    assert env["WEB_SERVICE_PORT"] == "mine"  # the container's own env wins
    assert env["HOSTNAME"] == "client"
    unlinked = pod_env(cluster, "unlinked")
    assert "KUBERNETES_SERVICE_HOST" in unlinked and "WEB_SERVICE_HOST" not in unlinked


def test_pods_resolve_through_kube_dns_at_the_tenth_address(cluster: NodeCluster) -> None:
    dns_ip = dns_service_ip(cluster.service_cidr)
    kube_dns = get_json(cluster, "service", "kube-dns", "-n", "kube-system")
    assert kube_dns["spec"]["clusterIP"] == dns_ip
    slices = get_json(cluster, "endpointslices", "-n", "kube-system",
                      "-l", "kubernetes.io/service-name=kube-dns")["items"]
    gateway = cluster.pod_cidr.rsplit(".", 1)[0] + ".1"
    assert [(s["endpoints"][0]["addresses"], s["endpoints"][0]["nodeName"]) for s in slices] == [
        ([gateway], cluster.node_name)]
    resolv = cluster.kubectl("exec", "client", "--", "cat", "/etc/resolv.conf").stdout
    assert f"nameserver {dns_ip}\n" in resolv, resolv
    lookup = cluster.kubectl("exec", "client", "--", "nslookup",
                            "kubernetes.default.svc.cluster.local").stdout
    assert kubernetes_service_ip(cluster.service_cidr) in lookup, lookup
    body = cluster.kubectl("exec", "client", "--", "timeout", "5", "wget", "-q", "-O", "-",
                           "http://web/").stdout  # TCP to the Service by its short name
    assert body.strip() == "web"


def fetch(url: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            return str(urllib.request.urlopen(url, timeout=2).read().decode().strip())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("policy", ["Cluster", "Local"])
def test_node_ports_answer_on_loopback_and_node_addresses(cluster: NodeCluster, policy: str) -> None:
    name = f"web-np-{policy.lower()}"
    cluster.apply(service(name, type="NodePort", externalTrafficPolicy=policy))
    node_port = get_json(cluster, "service", name)["spec"]["ports"][0]["nodePort"]
    gateway = cluster.pod_cidr.rsplit(".", 1)[0] + ".1"
    for address in ("127.0.0.1", default_route_address(), gateway):
        assert fetch(f"http://{address}:{node_port}/") == "web", address
    body = cluster.kubectl("exec", "client", "--", "timeout", "5", "wget", "-q", "-O", "-",
                           f"http://{gateway}:{node_port}/").stdout  # from a pod, too
    assert body.strip() == "web"
