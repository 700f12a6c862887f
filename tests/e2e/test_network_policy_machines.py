"""NetworkPolicy enforced on two machines (network namespaces running real agents, with each
pod network backend: vxlan and host-gw), set up with the real kubectl:

- kubectl prints the NAME/POD-SELECTOR/AGE columns, describes and explains a policy, and an
  invalid one is refused with Kubernetes' words;
- a default-deny policy cuts traffic from another namespace, from the other machine and from
  the same machine (bridged traffic); the web pod stays Ready (its node's kubelet probes it);
- an allow rule by namespace and pod label reopens one port only, from pods on either machine,
  and only for the labelled pods;
- a new pod matching a deny policy is never reachable: a prober on the other machine tries
  every address of the node's pod range from before the pod exists until after it is Ready,
  and never gets its answer; an ipBlock rule then opens it (the prober sees it), and the same
  block with the prober's address excepted closes it again;
- egress deny: the client cannot reach the web pod any more, while DNS through the node-local
  server stays allowed by a rule to kube-system's kube-dns pods.

Everything is removed by the machines helper, even on failure.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelite.network.peers import HOST_GW, VXLAN
from tests.helpers import reach_probe
from tests.helpers.machines import Machine, MachineCluster, machine_cluster
from tests.helpers.node import is_ready
from tests.helpers.wait import until

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

SERVE = ("mkdir -p /www && echo web-$(hostname) > /www/index.html && httpd -p 9090 -h /www && "
         "exec httpd -f -p 8080 -h /www")
VICTIM_TOKEN = "victim-answers"
VICTIM_SERVE = f"mkdir -p /www && echo {VICTIM_TOKEN} > /www/index.html && exec httpd -f -p 7070 -h /www"
PROBED = range(2, 40)  # host-local IPAM hands out the node's pod range from .2 upwards


def pod(name: str, ns: str, node: str, command: str, labels: dict[str, str],
        ports: list[dict[str, Any]] | None = None, probe_port: int | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "busybox:latest", "command": ["sh", "-c", command],
                                 "ports": ports or []}
    if probe_port:
        container["readinessProbe"] = {"tcpSocket": {"port": probe_port}, "periodSeconds": 1}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [container]}}


def policy(name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


DENY_PROD = policy("default-deny", "prod", {"podSelector": {}, "policyTypes": ["Ingress"]})
ALLOW_CLIENT_HTTP = policy("allow-client-http", "prod", {
    "podSelector": {"matchLabels": {"app": "web"}},
    "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dev"}},
                           "podSelector": {"matchLabels": {"role": "client"}}}],
                 "ports": [{"port": "http"}]}]})


class Cluster:
    def __init__(self, mc: MachineCluster) -> None:
        self.mc = mc
        self.a, self.b = mc.machines

    def kubectl(self, *args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
        result = self.mc.server.kubectl(*args, check=False, **kw)
        if check and result.returncode != 0:
            tails = "\n".join(f"-- agent {m.index}:\n{m.agent.log_tail(30)}" for m in self.mc.machines if m.agent)
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{tails}")
        return result

    def apply(self, *objs: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objs))

    def get(self, *args: str) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.kubectl("get", *args, "-o", "json").stdout)
        return out

    def ip(self, ns: str, name: str) -> str:
        return str(self.get("pod", "-n", ns, name)["status"]["podIP"])

    def reaches(self, ns: str, name: str, url: str) -> bool:
        """Whether the pod gets an answer (a refused or dropped connection is False)."""
        out = self.kubectl("exec", "-n", ns, name, "--", "sh", "-c",
                           f"timeout 3 wget -q -O - {url} >/dev/null && echo REACHED || echo CUT").stdout
        return out.strip() == "REACHED"

    def pod_range(self, m: Machine) -> list[str]:
        cidr = ipaddress.ip_network(self.get("node", m.node_name)["spec"]["podCIDR"])
        return [str(cidr[i]) for i in PROBED]


@pytest.fixture(scope="module", params=[VXLAN, HOST_GW])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with machine_cluster(tmp_path_factory.mktemp(f"netpol-{request.param}"), 2) as mc:
        for m in mc.machines:
            mc.join(m, "--pod-network", request.param)
        c = Cluster(mc)
        c.kubectl("create", "namespace", "prod")
        c.kubectl("create", "namespace", "dev")
        c.apply(pod("web", "prod", c.b.node_name, SERVE, {"app": "web"},
                    [{"name": "http", "containerPort": 8080}, {"name": "admin", "containerPort": 9090}], 8080),
                pod("client", "dev", c.a.node_name, "sleep 3600", {"role": "client"}),
                pod("other", "dev", c.a.node_name, "sleep 3600", {"role": "other"}),
                pod("near", "dev", c.b.node_name, "sleep 3600", {"role": "client"}))  # web's machine

        def ready() -> bool:
            pods = c.get("pods", "-A")["items"]
            return len(pods) == 4 and all(is_ready(p) for p in pods)

        until(ready, timeout=120, what="web, client, other and near running")
        yield c


def test_kubectl_prints_and_describes_policies(cluster: Cluster) -> None:
    cluster.apply(ALLOW_CLIENT_HTTP)
    try:
        table = cluster.kubectl("get", "netpol", "-n", "prod").stdout.splitlines()
        assert table[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
        assert table[1].split()[:2] == ["allow-client-http", "app=web"]
        stored = cluster.get("networkpolicy", "-n", "prod", "allow-client-http")
        assert stored["spec"]["policyTypes"] == ["Ingress"]  # defaulted
        assert stored["spec"]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
        described = cluster.kubectl("describe", "networkpolicy", "-n", "prod", "allow-client-http").stdout
        assert "PodSelector:     app=web" in described and "To Port: http/TCP" in described, described
        explained = cluster.kubectl("explain", "networkpolicy.spec.ingress.ports").stdout
        assert "endPort" in explained and "protocol" in explained, explained
        bad = cluster.kubectl("apply", "-f", "-", check=False, input=yaml.safe_dump(policy("bad", "prod", {
            "podSelector": {}, "ingress": [{"ports": [{"port": 90, "endPort": 80}]}]})))
        assert bad.returncode != 0
        assert "spec.ingress[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`" \
            in bad.stderr
    finally:
        cluster.kubectl("delete", "netpol", "-n", "prod", "allow-client-http")


def test_default_deny_cuts_traffic_between_namespaces(cluster: Cluster) -> None:
    web = cluster.ip("prod", "web")
    until(lambda: cluster.reaches("dev", "client", f"http://{web}:8080/"), timeout=20,
          what="the client reaching web before any policy")
    cluster.apply(DENY_PROD)
    until(lambda: not cluster.reaches("dev", "client", f"http://{web}:8080/"), timeout=20,
          what="the default deny cutting the client off")
    assert not cluster.reaches("dev", "other", f"http://{web}:9090/")
    assert not cluster.reaches("dev", "near", f"http://{web}:8080/"), "same machine, through the bridge"
    time.sleep(4)  # readiness probes every second, three failures would turn it NotReady
    assert is_ready(cluster.get("pod", "-n", "prod", "web")), "the node's probes must still pass"


def test_allow_by_label_reopens_one_port_across_machines(cluster: Cluster) -> None:
    web = cluster.ip("prod", "web")
    cluster.apply(DENY_PROD, ALLOW_CLIENT_HTTP)
    try:
        until(lambda: cluster.reaches("dev", "client", f"http://{web}:8080/"), timeout=20,
              what="the client reaching web's http port")
        assert not cluster.reaches("dev", "client", f"http://{web}:9090/"), "only the named port opens"
        assert not cluster.reaches("dev", "other", f"http://{web}:8080/"), "only the labelled pod"
        assert cluster.reaches("dev", "near", f"http://{web}:8080/"), "labelled, on web's machine"
        assert not cluster.reaches("dev", "near", f"http://{web}:9090/")
    finally:
        cluster.kubectl("delete", "netpol", "-n", "prod", "allow-client-http")
    until(lambda: not cluster.reaches("dev", "client", f"http://{web}:8080/"), timeout=20,
          what="the port closing again with the allow rule deleted")


def _start_probe(cluster: Cluster, ips: list[str], stop: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([*cluster.a.nsenter, sys.executable, reach_probe.__file__, ",".join(ips), "7070",
                             VICTIM_TOKEN, str(stop)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    return proc


def _finish_probe(proc: subprocess.Popen[str], stop: Path) -> dict[str, Any]:
    stop.touch()
    out, _ = proc.communicate(timeout=30)
    stop.unlink()
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def test_new_pod_matching_a_deny_policy_is_never_reachable(cluster: Cluster, tmp_path: Path) -> None:
    cluster.apply(DENY_PROD)
    ips = cluster.pod_range(cluster.b)
    stop = tmp_path / "stop"
    victim = pod("victim", "prod", cluster.b.node_name, VICTIM_SERVE, {"app": "victim"},
                 [{"name": "web", "containerPort": 7070}], 7070)
    proc = _start_probe(cluster, ips, stop)
    try:
        time.sleep(0.5)
        cluster.apply(victim)
        until(lambda: is_ready(cluster.get("pod", "-n", "prod", "victim")), timeout=60, what="victim Ready")
        time.sleep(2)
    finally:
        result = _finish_probe(proc, stop)
    victim_ip = cluster.ip("prod", "victim")
    assert victim_ip in ips
    assert result["attempts"][victim_ip] >= 20, result["attempts"]
    assert result["hits"] == {}, f"the new pod answered from outside: {result['hits']}"

    # The prober could see it: an ipBlock rule opens the pod to the prober's machine...
    src = json.loads(cluster.a.run("ip", "-j", "route", "get", victim_ip).stdout)[0]["prefsrc"]
    open_block = policy("from-block", "prod", {
        "podSelector": {"matchLabels": {"app": "victim"}},
        "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 7070}]}]})
    cluster.apply(open_block)
    proc = _start_probe(cluster, [victim_ip], stop)
    time.sleep(1.5)
    opened = _finish_probe(proc, stop)
    assert victim_ip in opened["hits"], opened
    # ... and excepting its address closes it again.
    open_block["spec"]["ingress"][0]["from"][0]["ipBlock"]["except"] = [f"{src}/32"]
    cluster.apply(open_block)
    time.sleep(0.5)
    proc = _start_probe(cluster, [victim_ip], stop)
    time.sleep(1.5)
    closed = _finish_probe(proc, stop)
    cluster.kubectl("delete", "netpol", "-n", "prod", "from-block")
    assert closed["hits"] == {} and closed["attempts"][victim_ip] >= 5, closed


def test_egress_deny_keeps_dns_when_allowed(cluster: Cluster) -> None:
    cluster.kubectl("delete", "netpol", "-n", "prod", "--all")
    web = cluster.ip("prod", "web")
    until(lambda: cluster.reaches("dev", "client", f"http://{web}:8080/"), timeout=20,
          what="the client reaching web with no ingress policy")
    cluster.apply(policy("egress-deny", "dev", {
        "podSelector": {"matchLabels": {"role": "client"}}, "policyTypes": ["Egress"],
        "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]}))
    try:
        until(lambda: not cluster.reaches("dev", "client", f"http://{web}:8080/"), timeout=20,
              what="the egress deny cutting the client off")
        assert cluster.reaches("dev", "other", f"http://{web}:8080/"), "other is not selected"
        lookup = cluster.kubectl("exec", "-n", "dev", "client", "--", "nslookup",
                                 "kubernetes.default.svc.cluster.local", check=False)
        assert lookup.returncode == 0 and "Address" in lookup.stdout, lookup
    finally:
        cluster.kubectl("delete", "netpol", "-n", "dev", "egress-deny")
