"""DaemonSets and ReplicationControllers with real kubectl on real machines (network
namespaces with real agents and runc): one daemon pod per node, none on a cordoned node
tainted without a toleration, one more for a machine that joins later; a rolling update
replaces them node by node and `kubectl rollout` reads the revisions; an RC keeps its count;
`kubectl get all` and `apply --prune` see both kinds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.machines import MachineCluster, machine_cluster
from tests.helpers.wait import until

DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, labels: {app: x}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: agent, image: busybox, command: [sh, -c, "sleep 3600"]}
"""

RC = """
apiVersion: v1
kind: ReplicationController
metadata: {name: web, labels: {app: x}}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: web, image: busybox, command: [sh, -c, "sleep 3600"]}
"""


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MachineCluster]:
    with machine_cluster(tmp_path_factory.mktemp("ds"), 3) as mc:
        first, tainted, _ = mc.machines
        mc.join(first)
        mc.join(tainted)
        mc.server.kubectl("cordon", tainted.node_name)
        mc.server.kubectl("taint", "node", tainted.node_name, "dedicated=db:NoSchedule")
        yield mc


def _json(mc: MachineCluster, *args: str) -> Any:
    return json.loads(mc.server.kubectl("get", *args, "-o", "json").stdout)


def _running_daemon_pods(mc: MachineCluster) -> dict[str, dict[str, Any]]:
    """node name -> its Running, Ready daemon pod."""
    out = {}
    for pod in _json(mc, "pods", "-l", "app=agent")["items"]:
        ready = any(c["type"] == "Ready" and c["status"] == "True"
                    for c in pod["status"].get("conditions") or [])
        if pod["status"].get("phase") == "Running" and ready \
                and not pod["metadata"].get("deletionTimestamp"):
            out[pod["spec"]["nodeName"]] = pod
    return out


def test_one_pod_per_node_none_on_a_tainted_node_and_one_for_a_late_joiner(lan: MachineCluster) -> None:
    first, tainted, late = lan.machines
    lan.server.kubectl("apply", "-f", "-", input=DAEMONSET)
    until(lambda: set(_running_daemon_pods(lan)) == {first.node_name}, timeout=120,
          what="the daemon pod on the first machine")
    pod = _running_daemon_pods(lan)[first.node_name]
    terms = pod["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                       "values": [first.node_name]}]}]
    assert {"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
            "effect": "NoSchedule"} in pod["spec"]["tolerations"]
    lan.join(late)
    until(lambda: set(_running_daemon_pods(lan)) == {first.node_name, late.node_name},
          timeout=120, what="a daemon pod on the machine that joined later")
    assert tainted.node_name not in {p["spec"].get("nodeName") for p in
                                     _json(lan, "pods", "-l", "app=agent")["items"]}
    status = until(lambda: (s := _json(lan, "ds", "agent")["status"]).get("numberAvailable") == 2
                   and s, timeout=30, what="the DaemonSet's status")
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"],
            status["numberReady"], status["updatedNumberScheduled"],
            status["numberMisscheduled"]) == (2, 2, 2, 2, 0)
    table = lan.server.kubectl("get", "ds", "agent").stdout.splitlines()
    assert table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                                "NODE", "SELECTOR", "AGE"]
    assert table[1].split()[:7] == ["agent", "2", "2", "2", "2", "2", "<none>"]


def test_rolling_update_replaces_pods_node_by_node_and_rollout_reads_revisions(
        lan: MachineCluster) -> None:
    before = {n: p["metadata"]["uid"] for n, p in _running_daemon_pods(lan).items()}
    assert len(before) == 2
    lan.server.kubectl("rollout", "restart", "ds/agent")
    out = lan.server.kubectl("rollout", "status", "ds/agent", "--timeout=180s", timeout=200).stdout
    assert 'daemon set "agent" successfully rolled out' in out
    after = _running_daemon_pods(lan)
    assert set(after) == set(before)
    assert not {p["metadata"]["uid"] for p in after.values()} & set(before.values())
    # maxUnavailable 1: the second new pod was made only once the first one was ready
    pods = sorted(after.values(), key=lambda p: p["metadata"]["creationTimestamp"])
    first_ready = next(c["lastTransitionTime"] for c in pods[0]["status"]["conditions"]
                       if c["type"] == "Ready")
    assert pods[1]["metadata"]["creationTimestamp"] >= first_ready
    history = lan.server.kubectl("rollout", "history", "ds/agent").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    lan.server.kubectl("rollout", "undo", "ds/agent")
    lan.server.kubectl("rollout", "status", "ds/agent", "--timeout=180s", timeout=200)
    ds = _json(lan, "ds", "agent")
    assert "kubectl.kubernetes.io/restartedAt" not in (
        ds["spec"]["template"]["metadata"].get("annotations") or {})
    revisions = _json(lan, "controllerrevisions", "-l", "app=agent")["items"]
    assert sorted(r["revision"] for r in revisions) == [2, 3]  # the undone-to template is newest


def test_replication_controller_keeps_its_pods(lan: MachineCluster) -> None:
    lan.server.kubectl("apply", "-f", "-", input=RC)

    def running() -> list[str]:
        return [p["metadata"]["name"] for p in _json(lan, "pods", "-l", "app=web")["items"]
                if p["status"].get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")]

    names = until(lambda: len(running()) == 2 and running(), timeout=120, what="two RC pods")
    lan.server.kubectl("delete", "pod", names[0], "--wait=false")
    until(lambda: len(running()) == 2 and names[0] not in running(), timeout=120,
          what="the RC replacing a deleted pod")
    lan.server.kubectl("scale", "rc", "web", "--replicas=1")
    until(lambda: len(running()) == 1, timeout=60, what="the RC scaled to 1")
    rc = _json(lan, "rc", "web")
    assert rc["spec"]["selector"] == {"app": "web"}  # defaulted from the template's labels
    table = lan.server.kubectl("get", "rc", "web").stdout.splitlines()
    assert table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    everything = lan.server.kubectl("get", "all").stdout
    assert "daemonset.apps/agent" in everything
    assert "replicationcontroller/web" in everything


def test_apply_prune_deletes_what_the_label_no_longer_lists(lan: MachineCluster) -> None:
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep, labels: {app: x}}\n"
    # kubectl's default prune allowlist (DaemonSet, ReplicationController... and Ingress)
    out = lan.server.kubectl("apply", "--prune", "-l", "app=x", "-f", "-", input=config).stdout
    assert "daemonset.apps/agent pruned" in out
    assert "replicationcontroller/web pruned" in out
    until(lambda: not _json(lan, "rc")["items"] and not _json(lan, "ds")["items"], timeout=60,
          what="the pruned objects gone")
