"""`kubelite top`: used and requested against allocatable, per node and for the cluster."""

from __future__ import annotations

from typing import Any

from kubelite.cli.top import build_rows, pod_requests, render


def node(name: str, cpu: str, memory: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": {"allocatable": {"cpu": cpu, "memory": memory}}}


def pod(node_name: str, cpu: str, memory: str, phase: str = "Running") -> dict[str, Any]:
    return {"spec": {"nodeName": node_name, "containers": [
        {"name": "a", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
        "status": {"phase": phase}}


def test_pod_requests_take_the_largest_init_container() -> None:
    p = pod("n", "100m", "10Mi")
    p["spec"]["initContainers"] = [{"name": "i", "resources": {"requests": {"cpu": "1"}}}]
    assert pod_requests(p) == (1000, 10 * 1024 * 1024)


def test_rows_and_cluster_total_side_by_side() -> None:
    nodes = [node("b", "2", "4Gi"), node("a", "4", "8Gi")]
    pods = [pod("a", "1", "2Gi"), pod("a", "500m", "1Gi", phase="Succeeded"), pod("b", "500m", "1Gi")]
    metrics = [{"metadata": {"name": "a"}, "usage": {"cpu": "1500000000n", "memory": "2097152Ki"}}]
    rows = build_rows(nodes, pods, metrics)
    assert [r.name for r in rows] == ["a", "b"]
    assert (rows[0].cpu_req, rows[0].cpu_used, rows[1].cpu_used) == (1000, 1500, None)
    out = render(rows).splitlines()
    assert out[0].split()[:3] == ["NODE", "CPU", "USED"]
    assert out[1].split() == ["a", "1500m", "(38%)", "1000m", "(25%)", "4000m", "2048Mi", "(25%)",
                              "2048Mi", "(25%)", "8192Mi"]
    assert out[2].split()[1:3] == ["<unknown>", "(<unknown>)"]
    assert out[3].split()[:5] == ["(cluster)", "1500m", "(25%)", "1500m", "(25%)"]
