"""Machines come and go with real agents (three network namespaces on a test LAN; the pod
network over vxlan, then over host-gw):

- restarting an agent (SIGTERM, start again) keeps a long-running TCP connection between pods
  on two machines alive: the pod network is not torn down or flapped;
- a machine that dies (agent killed with SIGKILL, its LAN link down) goes NotReady (Unknown)
  after the grace period, its Deployment pod is evicted by the unreachable taint once its
  tolerationSeconds pass and is replaced on a surviving machine; when the machine comes back
  its agent removes the containers, sandboxes, IPs and cgroups of pods deleted or moved
  meanwhile, finishes the evicted pod and adopts the pod that is still its own;
- pod GC: a dead machine tainted `node.kubernetes.io/out-of-service` loses its terminating
  pods; after `kubectl delete node` its other pods go too.

Short timings keep it quick: a grace period of 5 s (`--node-monitor-grace-period`, also pod
GC's quarantine), leases renewed every second (`--node-lease-duration-seconds 4`), and a
tolerationSeconds of 2 in the Deployment's template.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelite.network.peers import HOST_GW, VXLAN
from tests.helpers.machines import Machine, MachineCluster, machine_cluster
from tests.helpers.node import is_ready
from tests.helpers.node_loss import (
    UNREACHABLE,
    all_ready,
    apply,
    deployment,
    get,
    kubectl,
    live,
    node_state,
    pods,
    ready_elsewhere,
)
from tests.helpers.wait import until

pytestmark = pytest.mark.root

GRACE = 5
TOLERATION = 2
SERVER_FLAGS = ("--node-monitor-grace-period", str(GRACE), "--node-monitor-period", "1")
AGENT_FLAGS = ("--node-lease-duration-seconds", "4")
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
FOREVER = [{"operator": "Exists"}]  # tolerates every taint, for good


@pytest.fixture(scope="module", params=[VXLAN, HOST_GW])
def lan(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MachineCluster]:
    with machine_cluster(tmp_path_factory.mktemp("nodeloss"), 3, *SERVER_FLAGS) as mc:
        for m in mc.machines:
            mc.join(m, *AGENT_FLAGS, "--pod-network", request.param)
        yield mc


# -- objects ------------------------------------------------------------------------------

def pod(name: str, node: str, command: str, tolerations: list[dict[str, Any]] | None = None,
        labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [{
        "name": "c", "image": "busybox", "command": ["sh", "-c", command]}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"test": "nodeloss"}}, "spec": spec}


def container_ids(p: dict[str, Any]) -> set[str]:
    return {s["containerID"].split("://", 1)[-1]
            for s in p["status"].get("containerStatuses") or [] if s.get("containerID")}


def restarts(p: dict[str, Any]) -> int:
    return sum(s.get("restartCount", 0) for s in p["status"].get("containerStatuses") or [])


def wait_running(mc: MachineCluster, *names: str) -> dict[str, dict[str, Any]]:
    out = {}
    for name in names:
        out[name] = until(lambda n=name: (p := get(mc, "pod", n)) and is_ready(p) and p,  # type: ignore[misc]
                          timeout=120, what=f"{name} running and ready")
    return out


# -- reading a machine --------------------------------------------------------------------

def run_dir(m: Machine) -> Path:
    return Path(f"/run/kubelite-{m.cluster_id}")


def runc_containers(m: Machine) -> set[str]:
    out = subprocess.run(["runc", "--root", str(run_dir(m) / "runtime" / "runc"), "list", "-q"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return set(out.split())


def allocated_ips(m: Machine) -> set[str]:
    """Pod addresses host-local IPAM holds on the machine (one file per address)."""
    return {f.name for f in (run_dir(m) / "ipam").glob("*/*") if f.name[0].isdigit()}


def pod_cgroups(m: Machine) -> set[str]:
    """Pod uids with a cgroup under the machine's cgroup root (v2, or any v1 hierarchy)."""
    found: set[str] = set()
    for pattern in (f"kubelite-{m.cluster_id}/kubepods/**/pod*", f"*/kubelite-{m.cluster_id}/kubepods/**/pod*"):
        found |= {path.name[3:] for path in Path("/sys/fs/cgroup").glob(pattern) if path.is_dir()}
    return found


def links(m: Machine) -> dict[str, int]:
    """The machine's network devices by name, with their ifindex (a device made again gets
    a new one)."""
    out = m.run("ip", "-j", "link", "show")
    assert out.returncode == 0, out.stderr
    return {link["ifname"]: link["ifindex"] for link in json.loads(out.stdout)}


# -- tests --------------------------------------------------------------------------------

COUNT = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.2; done"
# nc ends the connection when its stdin ends: give it a FIFO it holds open itself, so only
# the connection's end ends it (and the container)
LISTEN = "mkfifo /tmp/in && exec nc -l -p 9000 3<>/tmp/in </tmp/in"


def counted(log: str) -> list[int]:
    return [int(line) for line in log.split() if line.isdigit()]


def test_an_agent_restart_keeps_cross_node_connections(lan: MachineCluster) -> None:
    """Two connections from a pod on one machine to pods on another, one to the pod's IP and
    one through a ClusterIP (DNAT by the talker's node), carry data through each end's agent
    restart: no line lost or repeated, no container restarted (nc exits, and its container
    with it, when its connection breaks)."""
    a, b = lan.machines[0], lan.machines[1]
    for name in ("direct", "via-svc"):
        apply(lan, pod(f"{name}-listener", b.node_name, LISTEN, labels={"listener": name}))
    apply(lan, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "via-svc"},
                "spec": {"selector": {"listener": "via-svc"}, "ports": [{"port": 9000}]}})
    pod_ip = wait_running(lan, "direct-listener")["direct-listener"]["status"]["podIP"]
    cluster_ip = kubectl(lan, "get", "service", "via-svc", "-o", "jsonpath={.spec.clusterIP}")
    wait_running(lan, "via-svc-listener")
    until(lambda: kubectl(lan, "get", "endpointslices", "-l", "kubernetes.io/service-name=via-svc",
                          "-o", "jsonpath={..addresses}") != "", timeout=30, what="the Service's endpoint")
    for name, target in (("direct", pod_ip), ("via-svc", cluster_ip)):
        apply(lan, pod(f"{name}-talker", a.node_name, f"{COUNT} | nc {target} 9000"))
    names = [f"{n}-{role}" for n in ("direct", "via-svc") for role in ("listener", "talker")]
    wait_running(lan, *names)

    def heard() -> list[list[int]]:
        return [counted(mc_logs(lan, f"{n}-listener")) for n in ("direct", "via-svc")]

    until(lambda: all(len(h) >= 5 for h in heard()), timeout=60,
          what="the listeners hearing their talkers across machines")
    for m in (a, b):
        before, devices = [len(h) for h in heard()], links(m)
        lan.restart_agent(m)  # SIGTERM, then the same agent again
        assert links(m) == devices  # bridge, vxlan device, pod veths: none made again
        until(lambda n=before: all(len(h) >= k + 10 for h, k in zip(heard(), n, strict=True)),  # type: ignore[misc]
              timeout=30, what=f"both connections still carrying data after {m.node_name}'s agent restarted")
    for numbers in heard():
        assert numbers == list(range(len(numbers))), "a stream restarted or lost lines"
    for name in names:
        p = get(lan, "pod", name)
        assert p is not None and restarts(p) == 0 and is_ready(p), p
    kubectl(lan, "delete", "pod", *names, "--wait=false")
    kubectl(lan, "delete", "service", "via-svc")


def mc_logs(mc: MachineCluster, name: str) -> str:
    return mc.server.kubectl("logs", name, check=False).stdout


def web_pods_ready(lan: MachineCluster) -> list[dict[str, Any]]:
    """The 3 pods of the `web` Deployment (applied if missing), once all are ready."""
    apply(lan, deployment("web", 3, TOLERATION))
    return until(lambda: all_ready(lan, "web", 3), timeout=120, what="3 web pods running and ready")


def test_a_dead_machine_loses_its_pods_and_cleans_up_when_it_returns(lan: MachineCluster) -> None:
    first = web_pods_ready(lan)
    victim = next(m for m in lan.machines if m.node_name == first[0]["spec"]["nodeName"])
    evicted = first[0]
    # On the victim too: a pod that tolerates being cut off for good (still its own when the
    # machine returns) and one that is force-deleted while the machine is away.
    apply(lan, pod("keeper", victim.node_name, "sleep 3600", tolerations=FOREVER))
    apply(lan, pod("forgotten", victim.node_name, "sleep 3600", tolerations=FOREVER))
    running = wait_running(lan, "keeper", "forgotten")
    keeper_ids = container_ids(running["keeper"])
    assert container_ids(running["forgotten"]) <= runc_containers(victim)

    died = time.monotonic()
    lan.kill(victim)
    until(lambda: node_state(lan, victim) == ("Unknown", {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}),
          timeout=GRACE + 30, what="the dead machine Unknown and tainted unreachable")
    assert kubectl(lan, "get", "node", victim.node_name).splitlines()[1].split()[1] == "NotReady"

    until(lambda: ready_elsewhere(lan, "web", 3, victim), timeout=GRACE + TOLERATION + 60, what="3 web pods ready on the surviving machines")
    moved_after = time.monotonic() - died
    print(f"\nmachine death -> its pod Ready elsewhere: {moved_after:.1f} s "
          f"(grace {GRACE} s + toleration {TOLERATION} s)")
    gone = get(lan, "pod", evicted["metadata"]["name"])
    assert gone is not None and gone["metadata"].get("deletionTimestamp"), "the evicted pod waits for its node"
    reasons = {c.get("reason") for c in gone["status"]["conditions"] if c["type"] == "DisruptionTarget"}
    assert reasons == {"DeletionByTaintManager"}
    keeper = get(lan, "pod", "keeper")
    assert keeper is not None and not keeper["metadata"].get("deletionTimestamp") and not is_ready(keeper)
    kubectl(lan, "delete", "pod", "forgotten", "--force", "--grace-period=0")

    lan.revive(victim)
    until(lambda: node_state(lan, victim) == ("True", set()), timeout=60, what="the machine Ready again, untainted")
    until(lambda: get(lan, "pod", evicted["metadata"]["name"]) is None, timeout=60,
          what="the evicted pod finished by its returning agent")
    keeper = wait_running(lan, "keeper")["keeper"]
    assert container_ids(keeper) == keeper_ids and restarts(keeper) == 0  # adopted, not restarted
    # Only the keeper is left on the machine: containers, addresses, cgroups.
    until(lambda: runc_containers(victim) == keeper_ids, timeout=30,
          what=f"only the keeper's containers on the machine (have {runc_containers(victim)})")
    assert allocated_ips(victim) == {keeper["status"]["podIP"]}
    assert pod_cgroups(victim) == {keeper["metadata"]["uid"]}
    assert len(live(pods(lan, "app=web"))) == 3
    kubectl(lan, "delete", "pod", "keeper", "--wait=false")


def test_pod_gc_on_an_out_of_service_machine_and_a_deleted_one(lan: MachineCluster) -> None:
    """A dead machine tainted out-of-service loses its terminating pods (pod GC's
    gcTerminating); deleting its Node then takes the rest (gcOrphaned)."""
    on = {p["spec"]["nodeName"] for p in web_pods_ready(lan)}
    dead = next(m for m in lan.machines if m.node_name in on)
    for name in ("stuck", "orphan"):
        apply(lan, pod(name, dead.node_name, "sleep 3600", tolerations=FOREVER))
    wait_running(lan, "stuck", "orphan")
    lan.kill(dead)
    kubectl(lan, "delete", "pod", "stuck", "--wait=false")
    stuck = get(lan, "pod", "stuck")
    assert stuck is not None and stuck["metadata"].get("deletionTimestamp")  # no kubelet to finish it
    until(lambda: node_state(lan, dead)[0] == "Unknown", timeout=GRACE + 30, what="the dead machine Unknown")
    assert get(lan, "pod", "stuck") is not None

    kubectl(lan, "taint", "node", dead.node_name, f"{OUT_OF_SERVICE}=nodeshutdown:NoExecute")

    def on_dead(app: str) -> list[str]:
        return [p["metadata"]["name"] for p in pods(lan, app) if p["spec"].get("nodeName") == dead.node_name]

    until(lambda: (get(lan, "pod", "stuck"), on_dead("app=web")) == (None, []), timeout=30,
          what="pod GC deleting the terminating pods of the out-of-service machine")
    orphan = get(lan, "pod", "orphan")  # tolerates the taint and is not terminating: stays
    assert orphan is not None and not orphan["metadata"].get("deletionTimestamp")

    kubectl(lan, "delete", "node", dead.node_name)
    until(lambda: get(lan, "pod", "orphan") is None, timeout=GRACE + 30,
          what="pod GC deleting the pods of the deleted node")
    assert all(p["spec"]["nodeName"] != dead.node_name for p in web_pods_ready(lan))
