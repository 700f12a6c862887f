"""Services and DNS on a real node, through the real kubectl: the agent's service proxy sends
ClusterIP traffic only to ready pods (a pod made unready moves to notReadyAddresses within a
period and gets none of 100 requests, then takes traffic again once ready), a pod reaches
itself through its own Service, the node reaches ClusterIPs and NodePorts, and pods resolve
`my-svc.default.svc.cluster.local` through the agent's cluster DNS and connect to it.

The cluster gets a service CIDR of its own so that the nft rules of clusters running side by
side on this machine never match each other's ClusterIPs.
"""

from __future__ import annotations

import collections
import json
import random
import secrets
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelite.service_ips import dns_service_ip
from tests.helpers.cluster import free_port, start_server
from tests.helpers.node import Agent, NodeCluster, _cleanup_host
from tests.helpers.registry import build_busybox_image, mirror_config, push_image, start_registry

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

SERVE = ("hostname > /www/index.html && touch /www/ready.html && "
         "exec httpd -f -p 8080 -h /www")


@contextmanager
def node_with_services(tmp: Path) -> Iterator[tuple[NodeCluster, str]]:
    """tests.helpers.node.running_node, with a service CIDR unique to this cluster."""
    cluster_id = secrets.token_hex(3)
    pod_cidr = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24"
    service_cidr = f"10.{random.randint(100, 159)}.{random.randint(0, 255)}.0/24"
    registry = start_registry(tmp)
    server = agent = None
    agent_args: list[str] = []
    try:
        push_image(build_busybox_image(tmp / "image"), registry.url, "library/busybox", "latest")
        server = start_server(tmp / "server", "--cluster-cidr", pod_cidr,
                              "--service-cidr", service_cidr)
        agent_dir = tmp / "agent"
        agent_dir.mkdir()
        (agent_dir / "registries.yaml").write_text(yaml.safe_dump(mirror_config(registry)))
        agent_args = [
            "--server", server.url,
            "--token-file", str(server.data_dir / "auth" / "node-token"),
            "--ca-file", str(server.data_dir / "tls" / "ca.crt"),
            "--data-dir", str(agent_dir), "--node-name", f"node-{cluster_id}",
            "--cluster-id", cluster_id, "--kubelet-port", str(free_port()),
            "--node-ip", "127.0.0.1", "--pod-cidr", pod_cidr, "--service-cidr", service_cidr,
        ]
        agent = Agent(agent_dir, agent_args, tmp / "agent.log")
        agent.start()
        yield NodeCluster(server, agent, registry, f"node-{cluster_id}", cluster_id,
                          pod_cidr, service_cidr), service_cidr
    finally:
        if agent is not None:
            agent.stop()
        if agent_args:
            _cleanup_host(agent_args)
        if server is not None:
            server.stop()
        registry.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with node_with_services(tmp_path_factory.mktemp("services")) as (c, _):
        for i in (1, 2, 3):
            c.apply(web_pod(f"web-{i}"))
        c.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
                 "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                     {"name": "c", "image": "busybox:latest", "command": ["sleep", "3600"]}]}})
        c.apply(service("web", {"app": "web"}))
        c.apply(service("self", {"pod": "web-1"}))
        for name in ("web-1", "web-2", "web-3", "client"):
            c.wait_running(name)
        yield c


def web_pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "web", "pod": name}},
            "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                "name": "web", "image": "busybox:latest", "command": ["sh", "-c", SERVE],
                "ports": [{"name": "http", "containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": "/ready.html", "port": "http"},
                                   "periodSeconds": 1, "failureThreshold": 1}}]}}


def service(name: str, selector: dict[str, str], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": selector, **spec,
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def get_json(cluster: NodeCluster, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return obj


def endpoints(cluster: NodeCluster, name: str) -> tuple[set[str], set[str]]:
    """(ready IPs, not-ready IPs) of the Endpoints object."""
    subsets = get_json(cluster, "endpoints", name).get("subsets") or []
    ready = {a["ip"] for s in subsets for a in s.get("addresses") or []}
    unready = {a["ip"] for s in subsets for a in s.get("notReadyAddresses") or []}
    return ready, unready


def wait(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until check() held."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)
    return time.monotonic() - start


def requests_from(cluster: NodeCluster, pod: str, url: str, count: int) -> collections.Counter[str]:
    # (busybox's static wget crashes on -T; `timeout` bounds each request instead)
    script = f"for i in $(seq {count}); do timeout 3 wget -q -O - {url} || echo error; done"
    out = cluster.kubectl("exec", pod, "--", "sh", "-c", script, timeout=120).stdout
    return collections.Counter(line.strip() for line in out.splitlines() if line.strip())


def pod_ip(cluster: NodeCluster, name: str) -> str:
    return str(cluster.pod(name)["status"]["podIP"])


def test_cluster_ip_sends_traffic_only_to_ready_pods(cluster: NodeCluster) -> None:
    ips = {name: pod_ip(cluster, name) for name in ("web-1", "web-2", "web-3")}
    wait(lambda: endpoints(cluster, "web")[0] == set(ips.values()), 10, "three ready endpoints")
    cluster_ip = get_json(cluster, "service", "web")["spec"]["clusterIP"]
    url = f"http://{cluster_ip}/"

    cluster.kubectl("exec", "web-2", "--", "rm", "/www/ready.html")
    took = wait(lambda: endpoints(cluster, "web") == ({ips["web-1"], ips["web-3"]}, {ips["web-2"]}),
                10, "web-2 in notReadyAddresses")
    assert took < 2.5, took  # one 1 s period, plus the status write and the controller
    p = cluster.pod("web-2")
    assert p["status"]["containerStatuses"][0]["ready"] is False
    assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Ready"] == "False"
    time.sleep(0.5)  # the proxy follows the EndpointSlice within a second
    counts = requests_from(cluster, "client", url, 100)
    assert sum(counts.values()) == 100 and set(counts) == {"web-1", "web-3"}, counts

    cluster.kubectl("exec", "web-2", "--", "touch", "/www/ready.html")
    wait(lambda: endpoints(cluster, "web")[0] == set(ips.values()), 10, "web-2 ready again")
    time.sleep(0.5)
    counts = requests_from(cluster, "client", url, 60)
    assert set(counts) == {"web-1", "web-2", "web-3"}, counts


def test_pod_reaches_itself_through_its_own_service(cluster: NodeCluster) -> None:
    cluster_ip = get_json(cluster, "service", "self")["spec"]["clusterIP"]
    counts = requests_from(cluster, "web-1", f"http://{cluster_ip}/", 5)
    assert counts == {"web-1": 5}


def test_node_reaches_cluster_ip_and_node_port(cluster: NodeCluster) -> None:
    cluster_ip = get_json(cluster, "service", "web")["spec"]["clusterIP"]
    answers = {urllib.request.urlopen(f"http://{cluster_ip}/", timeout=3).read().decode().strip()
               for _ in range(10)}
    assert answers and answers <= {"web-1", "web-2", "web-3"}, answers
    cluster.apply(service("web-np", {"app": "web"}, type="NodePort"))
    node_port = get_json(cluster, "service", "web-np")["spec"]["ports"][0]["nodePort"]
    gateway = cluster.pod_cidr.rsplit(".", 1)[0] + ".1"  # an address of this node
    deadline = time.monotonic() + 5
    while True:
        try:
            body = urllib.request.urlopen(f"http://{gateway}:{node_port}/", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert body.decode().strip() in {"web-1", "web-2", "web-3"}


def test_pod_resolves_service_name_and_connects(cluster: NodeCluster) -> None:
    cluster_ip = get_json(cluster, "service", "web")["spec"]["clusterIP"]
    resolv = cluster.kubectl("exec", "client", "--", "cat", "/etc/resolv.conf").stdout
    assert f"nameserver {dns_service_ip(cluster.service_cidr)}" in resolv, resolv  # kube-dns
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in resolv, resolv
    assert "options ndots:5" in resolv, resolv
    lookup = cluster.kubectl("exec", "client", "--", "nslookup",
                             "web.default.svc.cluster.local").stdout
    assert cluster_ip in lookup, lookup
    body = cluster.kubectl("exec", "client", "--", "timeout", "3", "wget", "-q", "-O", "-",
                           "http://web.default.svc.cluster.local/").stdout.strip()
    assert body in {"web-1", "web-2", "web-3"}
    short = cluster.kubectl("exec", "client", "--", "timeout", "3", "wget", "-q", "-O", "-",
                            "http://web/").stdout.strip()  # through the search path
    assert short in {"web-1", "web-2", "web-3"}
    hosts = cluster.kubectl("exec", "client", "--", "cat", "/etc/hosts").stdout
    assert f"{pod_ip(cluster, 'client')}\tclient" in hosts, hosts
