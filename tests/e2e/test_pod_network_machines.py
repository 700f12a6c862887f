"""Pods on two machines (network namespaces running real agents) reach each other by IP, with
`--pod-network vxlan` and `--pod-network host-gw`; the nodes publish their backend, public IP
and (vxlan) VTEP MAC as annotations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubelite.network.peers import BACKEND_DATA, BACKEND_TYPE, HOST_GW, PUBLIC_IP, VXLAN
from tests.helpers.machines import MachineCluster, machine_cluster
from tests.helpers.wait import until

pytestmark = pytest.mark.root

SERVE = "while true; do echo hello-from-$(hostname) | nc -l -p 8080; done"


def pod(name: str, node: str, command: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [{
                "name": "c", "image": "busybox", "command": ["sh", "-c", command]}]}}


def pod_ip(mc: MachineCluster, name: str) -> str:
    out = mc.server.kubectl("get", "pod", name, "-o", "jsonpath={.status.podIP}", check=False)
    return out.stdout.strip()


def running(mc: MachineCluster, name: str) -> bool:
    out = mc.server.kubectl("get", "pod", name, "-o", "jsonpath={.status.phase}", check=False)
    return out.stdout.strip() == "Running"


@pytest.mark.parametrize("backend", [VXLAN, HOST_GW])
def test_pods_on_two_machines_reach_each_other(tmp_path: Path, backend: str) -> None:
    with machine_cluster(tmp_path, 2) as mc:
        a, b = mc.machines
        for m in (a, b):
            mc.join(m, "--pod-network", backend)
        for i, m in enumerate((a, b)):
            mc.server.kubectl("apply", "-f", "-",
                              input=json.dumps(pod(f"web{i}", m.node_name, SERVE)))
        for name in ("web0", "web1"):
            until(lambda n=name: running(mc, n), timeout=90, what=f"{name} running")  # type: ignore[misc]
        node = json.loads(mc.server.kubectl("get", "node", b.node_name, "-o", "json").stdout)
        notes = node["metadata"]["annotations"]
        assert notes[BACKEND_TYPE] == backend and notes[PUBLIC_IP] == b.address
        if backend == VXLAN:
            def vtep_mac() -> str:
                got = json.loads(mc.server.kubectl("get", "node", a.node_name, "-o", "json").stdout)
                data = got["metadata"]["annotations"].get(BACKEND_DATA) or "{}"
                return str(json.loads(data).get("VtepMAC", ""))

            until(lambda: bool(vtep_mac()), timeout=30, what="a VTEP MAC published")

        far = pod_ip(mc, "web1")

        def fetch() -> str:
            return mc.server.kubectl("exec", "web0", "--", "nc", "-w", "2", far, "8080",
                                     check=False).stdout

        until(lambda: "hello-from-web1" in fetch(), timeout=60, what="web0 reaching web1 over TCP")
        ping = mc.server.kubectl("exec", "web1", "--", "ping", "-c", "2", "-W", "2",
                                 pod_ip(mc, "web0"), check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
