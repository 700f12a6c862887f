"""Three machines (network namespaces on a test LAN, each running a real `kubelite agent`), one
cluster, for each pod network backend (vxlan and host-gw), through the real kubectl and runc:

- a 3-replica Deployment behind a Service lands one pod per machine by default spreading;
- pods, and the machines themselves, reach pods on the other machines by IP (ICMP and TCP);
- a Service ClusterIP with endpoints on all three machines reaches every endpoint, none fails;
- the NodePort answers on each machine's address (from the host and from another machine) and
  on 127.0.0.1 inside each machine; with externalTrafficPolicy: Local the machine's own pod
  answers clients from anywhere;
- pods on every machine resolve Services by name (full and short, through the search list);
- `https://kubernetes.default.svc/version` answers a pod on a machine other than the server's,
  with the pod's service-account token;
- `kubectl logs/exec/cp/attach` reach pods on every machine.

One cluster per backend is shared by the module's tests; everything it makes is removed by the
machines helper, even on failure.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubelite.network.peers import HOST_GW, VXLAN
from kubelite.service_ips import kubernetes_service_ip
from tests.helpers.cluster import kubectl_binary
from tests.helpers.in_cluster import CALL_API, HOST_USR_MOUNT, HOST_USR_VOLUME, version_major
from tests.helpers.machines import Machine, MachineCluster, machine_cluster
from tests.helpers.node import is_ready
from tests.helpers.tty import read_until
from tests.helpers.wait import until

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

SERVE = "hostname > /www/index.html && exec httpd -f -p 8080 -h /www"
# Each client says where it runs, then answers `kubectl attach -i` line by line.
CLIENT = "echo started-on-$(hostname); while read line; do echo got:$line; done; sleep 3600"
REQUESTS = 30  # per client: all three endpoints are hit unless 1 in ~60,000 bad luck
# busybox 1.35's `wget -T` crashes (SIGSEGV) on this host: `timeout` bounds each request instead.

def deployment(replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "terminationGracePeriodSeconds": 0, "containers": [{
                             "name": "web", "image": "busybox:latest", "command": ["sh", "-c", SERVE],
                             "ports": [{"name": "http", "containerPort": 8080}],
                             "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}}}


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": "web"}, **spec,
                     "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def client(m: Machine) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"client-{m.index}"},
            "spec": {"nodeName": m.node_name, "terminationGracePeriodSeconds": 0,
                     "volumes": [HOST_USR_VOLUME],  # the node's openssl: CALL_API
                     "containers": [{"name": "c", "image": "busybox:latest", "stdin": True,
                                     "command": ["sh", "-c", CLIENT],
                                     "volumeMounts": [HOST_USR_MOUNT]}]}}


class Cluster:
    """The machines with the workload above running, and the names the tests look up."""

    def __init__(self, mc: MachineCluster, backend: str) -> None:
        self.mc = mc
        self.backend = backend

    def kubectl(self, *args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
        result = self.mc.server.kubectl(*args, check=False, **kw)
        if check and result.returncode != 0:
            tails = "\n".join(f"-- agent {m.index}:\n{m.agent.log_tail(30)}"
                              for m in self.mc.machines if m.agent)
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout}\n{result.stderr}\n{tails}")
        return result

    def apply(self, obj: dict[str, Any]) -> None:
        self.kubectl("apply", "-f", "-", input=yaml.safe_dump(obj))

    def get(self, *args: str) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.kubectl("get", *args, "-o", "json").stdout)
        return out

    def exec(self, pod: str, script: str, timeout: float = 60) -> str:
        return self.kubectl("exec", pod, "--", "sh", "-c", script, timeout=timeout).stdout

    def web_pods(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("pods", "-l", "app=web")["items"]
        return items

    def web_by_node(self) -> dict[str, dict[str, Any]]:
        return {p["spec"].get("nodeName", ""): p for p in self.web_pods()}

    def clients(self) -> list[tuple[Machine, str]]:
        return [(m, f"client-{m.index}") for m in self.mc.machines]


def _all_running(c: Cluster) -> bool:
    pods = c.get("pods")["items"]
    return len(pods) == 6 and all(is_ready(p) for p in pods)


@pytest.fixture(scope="module", params=[VXLAN, HOST_GW])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    backend: str = request.param
    # NodePorts answer inside the machines only (their own network namespaces): the default
    # range cannot meet another test's cluster on the host.
    with machine_cluster(tmp_path_factory.mktemp(f"machines-{backend}"), 3) as mc:
        for m in mc.machines:
            mc.join(m, "--pod-network", backend)
        c = Cluster(mc, backend)
        c.apply(service("web"))
        c.apply(service("web-np", type="NodePort"))
        c.apply(service("web-local", type="NodePort", externalTrafficPolicy="Local"))
        c.apply(deployment(3))
        for m in mc.machines:
            c.apply(client(m))
        until(lambda: _all_running(c), timeout=120, what="the web pods and clients running and ready")
        yield c


def test_deployment_lands_one_pod_per_machine(cluster: Cluster) -> None:
    nodes = sorted(p["spec"]["nodeName"] for p in cluster.web_pods())
    assert nodes == sorted(m.node_name for m in cluster.mc.machines)


def test_pods_reach_pods_on_other_machines_by_ip(cluster: Cluster) -> None:
    web = cluster.web_by_node()
    for m, name in cluster.clients():
        for other in cluster.mc.machines:
            if other is m:
                continue
            target = web[other.node_name]
            ip, host = target["status"]["podIP"], target["metadata"]["name"]
            out = cluster.exec(name, f"ping -c 1 -W 3 {ip} >/dev/null && echo icmp-ok; "
                                     f"timeout 5 wget -q -O - http://{ip}:8080/")
            assert out.split() == ["icmp-ok", host], (name, "->", ip, out)
            # The machine itself too (its processes, hostNetwork pods): pods answer it.
            direct = m.run("curl", "-s", "-m", "5", f"http://{ip}:8080/")
            assert direct.stdout.strip() == host, (m.node_name, "->", ip, direct)


def _fetch_loop(url: str, n: int = REQUESTS) -> str:
    """A shell loop of `n` HTTP requests, printing each answer or FAIL."""
    return f"for i in $(seq {n}); do timeout 5 wget -q -O - {url} || echo FAIL; done"


def test_cluster_ip_reaches_every_endpoint_from_every_machine(cluster: Cluster) -> None:
    ip = cluster.get("service", "web")["spec"]["clusterIP"]
    hosts = {p["metadata"]["name"] for p in cluster.web_pods()}
    for _, name in cluster.clients():
        answers = cluster.exec(name, _fetch_loop(f"http://{ip}/")).split()
        assert "FAIL" not in answers and len(answers) == REQUESTS, (name, answers)
        assert set(answers) == hosts, (name, answers)


def _host_fetch(url: str, n: int) -> list[str]:
    out = []
    for _ in range(n):
        got = subprocess.run(["curl", "-s", "-m", "5", url], capture_output=True, text=True, timeout=10)
        out.append(got.stdout.strip() if got.returncode == 0 else f"FAIL({got.returncode})")
    return out


def _machine_fetch(m: Machine, url: str, n: int) -> list[str]:
    script = f"for i in $(seq {n}); do curl -s -m 5 {url} || echo 'FAIL'; echo; done"
    return m.run("sh", "-c", script, timeout=60).stdout.split()


def test_node_port_answers_on_every_machine(cluster: Cluster) -> None:
    port = cluster.get("service", "web-np")["spec"]["ports"][0]["nodePort"]
    hosts = {p["metadata"]["name"] for p in cluster.web_pods()}
    machines = cluster.mc.machines
    seen: set[str] = set()
    for i, m in enumerate(machines):
        neighbour = machines[(i + 1) % len(machines)]
        answers = {
            "from the host": _host_fetch(f"http://{m.address}:{port}/", 9),
            f"from machine {neighbour.index}": _machine_fetch(neighbour, f"http://{m.address}:{port}/", 9),
            "on 127.0.0.1 inside": _machine_fetch(m, f"http://127.0.0.1:{port}/", 9),
        }
        for where, got in answers.items():
            assert got and set(got) <= hosts, (m.node_name, where, got)
            seen |= set(got)
    assert seen == hosts  # every endpoint answered through some node's NodePort


def test_local_node_port_keeps_clients_from_anywhere_on_the_machines_own_pod(cluster: Cluster) -> None:
    """externalTrafficPolicy: Local: no SNAT, so the pod answers the client's own address
    (the host, another machine) through its node; only the machine's own endpoint answers."""
    port = cluster.get("service", "web-local")["spec"]["ports"][0]["nodePort"]
    web = cluster.web_by_node()
    machines = cluster.mc.machines
    for i, m in enumerate(machines):
        own = web[m.node_name]["metadata"]["name"]
        neighbour = machines[(i + 1) % len(machines)]
        assert _host_fetch(f"http://{m.address}:{port}/", 3) == [own] * 3, m.node_name
        got = _machine_fetch(neighbour, f"http://{m.address}:{port}/", 3)
        assert got == [own] * 3, (m.node_name, f"from machine {neighbour.index}", got)
        # The connection as the machine tracked it: its answer went to the client's own address.
        assert _replies_to(m, neighbour.address, port) == [neighbour.address] * 3, m.node_name


def _replies_to(m: Machine, client: str, port: int) -> list[str]:
    """Where `m` sent the answers of connections from `client` to its node port: the client's
    address unless they were masqueraded (then `m`'s own)."""
    out = []
    for line in m.run("cat", "/proc/net/nf_conntrack").stdout.splitlines():
        fields = line.split()
        original = [f for f in fields if "=" in f][:4]
        if original == [f"src={client}", f"dst={m.address}", original[2], f"dport={port}"]:
            reply = [f for f in fields if f.startswith("dst=")][1]
            out.append(reply.removeprefix("dst="))
    return out


def test_pods_on_every_machine_resolve_services_by_name(cluster: Cluster) -> None:
    ip = cluster.get("service", "web")["spec"]["clusterIP"]
    hosts = {p["metadata"]["name"] for p in cluster.web_pods()}
    api = kubernetes_service_ip(cluster.mc.service_cidr)
    for _, name in cluster.clients():
        lookup = cluster.exec(name, "nslookup web.default.svc.cluster.local; "
                                    "nslookup kubernetes.default.svc.cluster.local")
        assert ip in lookup and api in lookup, (name, lookup)
        # Short names go through the search list (busybox's nslookup does not use it: wget does).
        for url in ("http://web/", "http://web.default/", "http://web.default.svc.cluster.local/"):
            body = cluster.exec(name, f"timeout 5 wget -q -O - {url}").strip()
            assert body in hosts, (name, url, body)


def test_pods_on_other_machines_call_the_api_server(cluster: Cluster) -> None:
    ep = cluster.get("endpoints", "kubernetes")
    assert ep["subsets"][0]["addresses"] == [{"ip": cluster.mc.gateway}]  # reachable from machines
    for _, name in cluster.clients():  # no machine is the server's
        out = cluster.exec(name, CALL_API)
        assert out.startswith("HTTP/1.0 200"), (name, out)
        assert version_major(out) == "1", out


def test_kubectl_logs_exec_cp_attach_on_every_machine(cluster: Cluster, tmp_path: Path) -> None:
    server = cluster.mc.server
    for m, name in cluster.clients():
        assert f"started-on-{name}" in cluster.kubectl("logs", name).stdout
        assert cluster.kubectl("exec", name, "--", "cat", "/etc/hostname").stdout.strip() == name
        up = tmp_path / f"up-{m.index}.txt"
        up.write_text(f"to {m.node_name}\n")
        cluster.kubectl("cp", str(up), f"{name}:/tmp/up.txt")
        down = tmp_path / f"down-{m.index}.txt"
        cluster.kubectl("cp", f"{name}:/tmp/up.txt", str(down))
        assert down.read_text() == up.read_text()
        attach = subprocess.Popen([kubectl_binary("1.33"), f"--kubeconfig={server.kubeconfig}",
                                   f"--cache-dir={server.cache_root}/1.33", "attach", "-i", name],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = f"hello-{m.index}"
            until(lambda: _typed_and_echoed(attach, line), timeout=30,  # noqa: B023 - called here
                  what=f"an answer through kubectl attach to {name}")
        finally:
            attach.kill()
            attach.wait()


def _typed_and_echoed(attach: subprocess.Popen[bytes], line: str) -> bool:
    """Type `line` into the attached container; whether its answer came back within a second
    (a line typed before the stream is set up is lost: typing again is what a person does)."""
    assert attach.stdin is not None and attach.stdout is not None
    attach.stdin.write(f"{line}\n".encode())
    attach.stdin.flush()
    try:
        read_until(attach.stdout.fileno(), rf"got:{line}\n", timeout=1)
    except AssertionError:
        return False
    return True
