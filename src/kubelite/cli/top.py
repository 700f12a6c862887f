"""`kubelite top`: per node and for the cluster, what is used and what is requested, each as a
share of allocatable, side by side, so a user sees how much of what they bought is used.

Usage comes from metrics.k8s.io (the kubelets' cgroup figures); requests are the sum over the
node's non-terminated pods. Wire-up in cli/main.py: `top.add_parser(sub)`, then for
args.command == "top", `asyncio.run(top.run(args))`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from kubelite.api.quantity import QuantityError, parse_quantity
from kubelite.client import ApiClient, ApiError, KubeconfigError

MI = 1024 * 1024


@dataclass
class Row:
    name: str
    cpu_alloc: int = 0  # millicores
    mem_alloc: int = 0  # bytes
    cpu_used: int | None = None
    mem_used: int | None = None
    cpu_req: int = 0
    mem_req: int = 0

    def add(self, other: Row) -> None:
        self.cpu_alloc += other.cpu_alloc
        self.mem_alloc += other.mem_alloc
        self.cpu_req += other.cpu_req
        self.mem_req += other.mem_req
        for attr in ("cpu_used", "mem_used"):
            mine, theirs = getattr(self, attr), getattr(other, attr)
            if theirs is not None:
                setattr(self, attr, (mine or 0) + theirs)


def _milli(raw: Any) -> int:
    try:
        return parse_quantity(raw).milli_value()
    except (QuantityError, TypeError):
        return 0


def _bytes(raw: Any) -> int:
    try:
        return parse_quantity(raw).value()
    except (QuantityError, TypeError):
        return 0


def pod_requests(pod: dict[str, Any]) -> tuple[int, int]:
    """(cpu millicores, memory bytes) the pod requests: its containers, at least its largest
    init container."""
    spec = pod.get("spec") or {}
    cpu = mem = 0
    for c in spec.get("containers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu += _milli(req.get("cpu", 0))
        mem += _bytes(req.get("memory", 0))
    for c in spec.get("initContainers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        cpu = max(cpu, _milli(req.get("cpu", 0)))
        mem = max(mem, _bytes(req.get("memory", 0)))
    return cpu, mem


def build_rows(nodes: list[dict[str, Any]], pods: list[dict[str, Any]],
               metrics: list[dict[str, Any]]) -> list[Row]:
    """One row per node (by name), from Nodes, Pods and NodeMetrics."""
    rows: dict[str, Row] = {}
    for n in nodes:
        name = n["metadata"]["name"]
        alloc = (n.get("status") or {}).get("allocatable") or {}
        rows[name] = Row(name, _milli(alloc.get("cpu", 0)), _bytes(alloc.get("memory", 0)))
    for p in pods:
        node = (p.get("spec") or {}).get("nodeName")
        if node in rows and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
            cpu, mem = pod_requests(p)
            rows[node].cpu_req += cpu
            rows[node].mem_req += mem
    for m in metrics:
        row = rows.get(m["metadata"]["name"])
        if row is not None:
            row.cpu_used = _milli(m["usage"]["cpu"])
            row.mem_used = _bytes(m["usage"]["memory"])
    return sorted(rows.values(), key=lambda r: r.name)


def _pct(part: int | None, whole: int) -> str:
    if part is None:
        return "<unknown>"
    return f"{round(100 * part / whole)}%" if whole else "-"


def _cpu(milli: int | None) -> str:
    return "<unknown>" if milli is None else f"{milli}m"


def _mem(b: int | None) -> str:
    return "<unknown>" if b is None else f"{b // MI}Mi"


def render(rows: list[Row]) -> str:
    """The table: per node, then the cluster total."""
    header = ("NODE", "CPU USED", "CPU REQUESTED", "CPU ALLOCATABLE", "MEMORY USED",
              "MEMORY REQUESTED", "MEMORY ALLOCATABLE")
    total = Row("(cluster)")
    for r in rows:
        total.add(r)
    lines = [header]
    for r in [*rows, total]:
        lines.append((
            r.name,
            f"{_cpu(r.cpu_used)} ({_pct(r.cpu_used, r.cpu_alloc)})",
            f"{_cpu(r.cpu_req)} ({_pct(r.cpu_req, r.cpu_alloc)})",
            _cpu(r.cpu_alloc),
            f"{_mem(r.mem_used)} ({_pct(r.mem_used, r.mem_alloc)})",
            f"{_mem(r.mem_req)} ({_pct(r.mem_req, r.mem_alloc)})",
            _mem(r.mem_alloc),
        ))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("   ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "top", help="per node and for the cluster: used and requested, as shares of allocatable")
    p.add_argument("--kubeconfig", default=None)


async def run(args: argparse.Namespace) -> int:
    try:
        client = ApiClient.from_kubeconfig(args.kubeconfig)
    except KubeconfigError as e:
        print(f"kubelite: {e}", file=sys.stderr)
        return 1
    async with client:
        try:
            nodes = (await client.list("nodes", raw=True)).items
            pods = (await client.list("pods", raw=True, field_selector=(
                "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"))).items
            doc = await client.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes")
        except ApiError as e:
            print(f"Error from server ({e.reason}): {e.message}", file=sys.stderr)
            return 1
    print(render(build_rows(nodes, pods, list(doc.get("items") or []))))
    return 0
