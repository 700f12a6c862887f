"""Requests and limits on a real node: OOM kills told truthfully (and SIGTERM exits not taken
for them), CPU limits enforced by the cgroup, `kubectl top` figures, and `kubectl describe
node` adding the pods' requests up against allocatable."""

from __future__ import annotations

import glob
import json
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelite.apiserver.proxy import kubelet_address
from kubelite.apiserver.proxy_tls import kubelet_client_context
from tests.helpers.cluster import kubectl_binary
from tests.helpers.node import NodeCluster, running_node


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("resources")) as c:
        yield c


def pod(name: str, script: str, resources: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    container = {"name": "app", "image": "busybox:latest", "command": ["sh", "-c", script],
                 "resources": resources or {}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container], "terminationGracePeriodSeconds": 5, **spec}}


def json_stream(text: str) -> list[dict[str, Any]]:
    """The objects of `kubectl get -w -o json` (concatenated JSON documents)."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)


def status_of(p: dict[str, Any]) -> dict[str, Any]:
    return ((p.get("status") or {}).get("containerStatuses") or [{}])[0]


def cgroup_file(cluster: NodeCluster, p: dict[str, Any], v1: str, v2: str) -> Path:
    """A file of the container's cgroup on this host (v1 controller/file, or the v2 file)."""
    cid = status_of(p)["containerID"].split("://", 1)[1]
    uid = p["metadata"]["uid"]
    root = f"kubelite-{cluster.cluster_id}/kubepods"
    for pattern in (f"/sys/fs/cgroup/{v1}".replace("{root}", root),
                    f"/sys/fs/cgroup/{root}/**/pod{uid}/{cid}/{v2}"):
        pattern = pattern.replace("{uid}", uid).replace("{cid}", cid)
        for path in glob.glob(pattern, recursive=True):
            return Path(path)
    raise AssertionError(f"no cgroup file {v1} / {v2} for container {cid}")


def cpu_nanoseconds(cluster: NodeCluster, p: dict[str, Any]) -> int:
    """The container's cumulative CPU time, read from its cgroup."""
    path = cgroup_file(cluster, p, "cpuacct/{root}/**/pod{uid}/{cid}/cpuacct.usage", "cpu.stat")
    text = path.read_text()
    if path.name == "cpu.stat":
        return int(next(ln.split()[1] for ln in text.splitlines() if ln.startswith("usage_usec"))) * 1000
    return int(text.strip())


def cpu_seconds(cluster: NodeCluster, p: dict[str, Any]) -> float:
    return cpu_nanoseconds(cluster, p) * 1e-9


def cpu_quota(cluster: NodeCluster, p: dict[str, Any]) -> str:
    path = cgroup_file(cluster, p, "cpu/{root}/**/pod{uid}/{cid}/cpu.cfs_quota_us", "cpu.max")
    return path.read_text().split()[0]


def cores_used(cluster: NodeCluster, *pods: dict[str, Any], seconds: float = 2.0) -> list[float]:
    """Cores each pod used over one and the same window (so they can be compared)."""
    start, t0 = [cpu_seconds(cluster, p) for p in pods], time.monotonic()
    time.sleep(seconds)
    end, t1 = [cpu_seconds(cluster, p) for p in pods], time.monotonic()
    return [(b - a) / (t1 - t0) for a, b in zip(start, end, strict=True)]


def test_oom_killed_with_137_and_restarts_but_a_sigterm_exit_is_not_oom(cluster: NodeCluster) -> None:
    # The first instance allocates 200Mi under a 64Mi limit; the next ones just wait for SIGTERM.
    script = ("if [ ! -f /state/ran ]; then touch /state/ran; exec dd if=/dev/zero of=/dev/null "
              "bs=200M count=1; fi; trap 'exit 143' TERM; sleep 3600 & wait")
    manifest = pod("oom", script, {"limits": {"memory": "64Mi"}},
                   volumes=[{"name": "state", "emptyDir": {}}])
    manifest["spec"]["containers"][0]["volumeMounts"] = [{"name": "state", "mountPath": "/state"}]
    cluster.apply(manifest)
    try:
        p = cluster.wait_for("oom", lambda p: status_of(p).get("restartCount", 0) >= 1
                             and "running" in (status_of(p).get("state") or {}), timeout=60,
                             what="a restart after the OOM kill")
    except AssertionError:
        print("EVENTS", cluster.kubectl("get", "events", "-o", "wide").stdout)
        print("SERVER", cluster.server.log_tail(80))
        raise
    last = status_of(p)["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
    events = json.loads(cluster.kubectl("get", "events", "--field-selector",
                                        "involvedObject.name=oom", "-o", "json").stdout)["items"]
    assert any(e["reason"] == "OOMKilled" and e["type"] == "Warning" for e in events)

    # Watch the pod while it is deleted: its last status before it goes is the SIGTERM exit.
    watch = subprocess.Popen(
        [kubectl_binary("1.33"), f"--kubeconfig={cluster.server.kubeconfig}", "get", "pod", "oom",
         "--watch", "-o", "json"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        cluster.kubectl("delete", "pod", "oom", "--wait=false")
        cluster.wait_gone("oom")
        time.sleep(1)
    finally:
        watch.terminate()
        out, _ = watch.communicate(timeout=10)
    finals = [status_of(p)["state"]["terminated"] for p in json_stream(out)
              if "terminated" in (status_of(p).get("state") or {})]
    assert finals, out[-2000:]
    assert (finals[-1]["reason"], finals[-1]["exitCode"]) == ("Error", 143)  # not OOMKilled


def test_cpu_limit_holds_a_busy_loop_to_half_a_core(cluster: NodeCluster) -> None:
    busy = "while :; do :; done"
    cluster.apply(pod("cpu-limited", busy, {"limits": {"cpu": "500m"}}))
    # A request but no limit: a BestEffort pod would get the minimum shares and lose any
    # contention with the rest of this shared machine.
    cluster.apply(pod("cpu-free", busy, {"requests": {"cpu": "1"}}))
    limited = cluster.wait_running("cpu-limited")
    free = cluster.wait_running("cpu-free")
    assert cpu_quota(cluster, limited) == "50000" and cpu_quota(cluster, free) in ("-1", "max")
    # The quota caps the limited loop whatever the load. This machine is shared with other
    # test runs: over the same windows, the unlimited loop gets a whole core when it can, and
    # on a loaded machine still clearly outruns the limited one (it weighs twice as much).
    samples = [cores_used(cluster, limited, free) for _ in range(3)]
    assert all(used_limited < 0.6 for used_limited, _ in samples), samples
    assert any(used_free > 0.8 or used_free > 1.5 * used_limited for used_limited, used_free in samples), samples


def top_cpu_milli(cluster: NodeCluster, name: str, timeout: float = 30) -> tuple[int, str]:
    """(CPU in millicores, memory) of `kubectl top pod NAME --containers`, once it has a figure
    (the first sample of a new container gives no rate yet)."""
    deadline = time.monotonic() + timeout
    while True:
        result = cluster.kubectl("top", "pod", name, "--containers", check=False)
        rows = [line.split() for line in result.stdout.splitlines() if line.startswith(name)]
        if result.returncode == 0 and rows:
            assert rows[0][1] == "app", result.stdout
            return int(rows[0][2].rstrip("m")), rows[0][3]
        assert time.monotonic() < deadline, result.stdout + result.stderr
        time.sleep(0.5)


def kubelet_summary(cluster: NodeCluster) -> dict[str, Any]:
    """GET /stats/summary from the node's kubelet, as the API server's metrics.k8s.io does."""
    node = json.loads(cluster.kubectl("get", "node", cluster.node_name, "-o", "json").stdout)
    host, port = kubelet_address(node)
    ctx = kubelet_client_context(cluster.server.data_dir / "tls")
    with urllib.request.urlopen(f"https://{host}:{port}/stats/summary", context=ctx, timeout=30) as r:
        summary: dict[str, Any] = json.load(r)
    return summary


def test_kubectl_top_pod_and_node(cluster: NodeCluster) -> None:
    cluster.apply(pod("cpu-idle", "sleep 3600"))
    limited = cluster.wait_running("cpu-limited")
    cluster.wait_running("cpu-idle")
    # Rates are never compared across moments: the figures are held to what holds on a
    # loaded machine too -- a 500m quota caps the busy loop, an idle pod uses next to
    # nothing, and the busy one always outruns it.
    busy_m, mem = top_cpu_milli(cluster, "cpu-limited")
    idle_m, _ = top_cpu_milli(cluster, "cpu-idle")
    assert 0 < busy_m <= 650, busy_m
    assert idle_m <= 50 and busy_m > idle_m, (busy_m, idle_m)
    assert mem.endswith("Mi") and int(mem[:-2]) < 64, mem
    # What the figures come from is the container's own cgroup: the kubelet's cumulative
    # counter lies between two readings of that cgroup taken around the same sample.
    before = cpu_nanoseconds(cluster, limited)
    summary = kubelet_summary(cluster)
    after = cpu_nanoseconds(cluster, limited)
    entry = next(p for p in summary["pods"] if p["podRef"]["name"] == "cpu-limited")
    used = entry["containers"][0]["cpu"]["usageCoreNanoSeconds"]
    assert before <= used <= after, (before, used, after)
    out = cluster.kubectl("top", "pod").stdout
    assert "cpu-free" in out and "CPU(cores)" in out
    out = cluster.kubectl("top", "node").stdout
    row = next(line.split() for line in out.splitlines() if line.startswith(cluster.node_name))
    cores, pct = int(row[1].rstrip("m")), int(row[2].rstrip("%"))
    # Two busy loops run on it; other load on the machine only adds to its figure, which may
    # then pass 100% of allocatable (capacity minus reservations): the percentage is the
    # cores over allocatable, whatever the load.
    node = json.loads(cluster.kubectl("get", "node", cluster.node_name, "-o", "json").stdout)
    allocatable_m = _quantity_milli(node["status"]["allocatable"]["cpu"])
    assert cores >= 500 and abs(pct - 100 * cores / allocatable_m) <= 1, out


def _quantity_milli(text: str) -> int:
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


def test_describe_node_adds_up_the_pods_requests(cluster: NodeCluster) -> None:
    cluster.apply(pod("requests-a", "sleep 3600", {"requests": {"cpu": "150m", "memory": "32Mi"}}))
    cluster.wait_running("requests-a")
    node = json.loads(cluster.kubectl("get", "node", cluster.node_name, "-o", "json").stdout)
    capacity, allocatable = node["status"]["capacity"], node["status"]["allocatable"]
    assert int(allocatable["memory"][:-2]) == int(capacity["memory"][:-2]) - 100 * 1024  # eviction-hard
    pods = json.loads(cluster.kubectl("get", "pods", "-o", "json").stdout)["items"]
    expected = sum(_quantity_milli(c["resources"].get("requests", {}).get("cpu", "0"))
                   for p in pods if p["status"].get("phase") not in ("Succeeded", "Failed")
                   for c in p["spec"]["containers"])
    out = cluster.kubectl("describe", "node", cluster.node_name).stdout
    section = out.split("Allocated resources:", 1)[1]
    cpu_row = next(line.split() for line in section.splitlines() if line.strip().startswith("cpu"))
    assert _quantity_milli(cpu_row[1]) == expected, section
    pct = int(100 * expected / _quantity_milli(allocatable["cpu"]))  # kubectl truncates
    assert cpu_row[2] == f"({pct}%)"
    assert re.search(r"Non-terminated Pods:\s+\(\d+ in total\)", out)
    assert "requests-a" in out.split("Non-terminated Pods:", 1)[1]
