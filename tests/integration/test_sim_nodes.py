"""Simulated nodes against a real `kubelite server`, seen through the real kubectl."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from kubelite.client import ApiClient
from kubelite.sim import SimCluster
from tests.helpers.cluster import Server, start_server
from tests.helpers.sim import running_sim


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("sim") / "data")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def cluster(client: ApiClient) -> AsyncIterator[SimCluster]:
    async with running_sim(client, 3, zones=2) as sim:
        yield sim


async def kubectl(server: Server, *args: str, check: bool = True) -> str:
    """kubectl in a thread, so the simulated kubelets keep running meanwhile."""
    result = await asyncio.to_thread(server.kubectl, *args, check=check)
    return result.stdout


async def wait_for(server: Server, predicate: str, *args: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = await kubectl(server, *args, check=False)
        if predicate in out:
            return out
        await asyncio.sleep(0.2)
    raise AssertionError(f"{predicate!r} not seen in kubectl {' '.join(args)}:\n{out}")


async def test_nodes_are_ready_with_kubelet_columns(server: Server, cluster: SimCluster) -> None:
    out = await kubectl(server, "get", "nodes", "-o", "wide")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP",
                                "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert sorted(rows) == ["sim-0001", "sim-0002", "sim-0003"]
    for i, name in enumerate(sorted(rows), start=1):
        row = rows[name]
        assert row[1] == "Ready" and row[2] == "<none>"
        assert row[4] == "v1.32.0-kubelite-sim"
        assert row[5] == f"172.16.0.{i}"
        assert row[-1] == "sim://1.0"
    zones = await kubectl(server, "get", "nodes", "-L", "topology.kubernetes.io/zone",
                          "-l", "kubelite.io/simulated=true", "--no-headers")
    assert sorted(line.split()[-1] for line in zones.splitlines()) == ["zone-0", "zone-0", "zone-1"]


async def test_bound_pod_runs_and_is_deleted(server: Server, cluster: SimCluster) -> None:
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  nodeName: sim-0002
  containers: [{name: app, image: nginx}]
"""
    # as a kubelet does, the node has its podCIDR from the control plane before pods arrive
    cidr = await wait_for(server, "10.", "get", "node", "sim-0002", "-o=jsonpath={.spec.podCIDR}")
    # and the sim has seen it (it learns it from a node update, later on a loaded machine)
    deadline = time.monotonic() + 30
    while str(cluster.nodes["sim-0002"].pods.network) != cidr.strip():
        assert time.monotonic() < deadline, "the simulated node never adopted its podCIDR"
        await asyncio.sleep(0.1)
    await asyncio.to_thread(server.kubectl, "apply", "-f", "-", input=manifest)
    out = await wait_for(server, "Running", "get", "pods", "web", "-o", "wide")
    row = out.splitlines()[1].split()
    assert row[1] == "1/1" and row[2] == "Running"
    assert row[6] == "sim-0002"
    assert ipaddress.ip_address(row[5]) in ipaddress.ip_network(cidr.strip())
    await kubectl(server, "delete", "pod", "web", "--timeout=20s")
    out = await kubectl(server, "get", "pods", "--no-headers")
    assert "web" not in out


async def test_paused_node_stops_renewing_its_lease(server: Server, cluster: SimCluster) -> None:
    jsonpath = "-o=jsonpath={.spec.renewTime}"

    async def renew_time(name: str) -> str:
        return await kubectl(server, "get", "lease", "-n", "kube-node-lease", name, jsonpath)

    cluster.pause("sim-0001")
    await asyncio.sleep(0.6)  # a renewal in flight when pausing may still land
    paused_before, other_before = await renew_time("sim-0001"), await renew_time("sim-0003")
    await asyncio.sleep(1.5)
    assert await renew_time("sim-0001") == paused_before
    assert await renew_time("sim-0003") > other_before
    cluster.resume("sim-0001")
    await asyncio.sleep(1.0)
    assert await renew_time("sim-0001") > paused_before


def test_sim_nodes_command_registers_nodes_until_sigterm(server: Server) -> None:
    """The subcommand, run as a process: nodes stay after SIGTERM, go with --cleanup."""
    code = ("import argparse, asyncio, sys\n"
            "from kubelite.cli import sim_nodes\n"
            "p = argparse.ArgumentParser(); sim_nodes.add_parser(p.add_subparsers())\n"
            "sys.exit(asyncio.run(sim_nodes.run(p.parse_args(sys.argv[1:]))))\n")

    def run(*flags: str) -> None:
        env = {**os.environ, "KUBECONFIG": str(server.kubeconfig)}
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "sim-nodes", "--count", "2", "--name-prefix", "cli-",
             "--label", "team=bench", *flags],
            env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert "registered 2 simulated nodes" in line, line + proc.stderr.read()
            out = server.kubectl("get", "nodes", "-l", "team=bench", "--no-headers").stdout
            assert [r.split()[:2] for r in out.splitlines()] == [
                ["cli-0001", "Ready"], ["cli-0002", "Ready"]]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    run()
    out = server.kubectl("get", "nodes", "-l", "team=bench", "--no-headers").stdout
    assert len(out.splitlines()) == 2  # a stopped kubelet leaves its Node
    run("--cleanup")
    after = server.kubectl("get", "nodes", "-l", "team=bench", "--no-headers", check=False)
    assert "cli-0001" not in after.stdout
