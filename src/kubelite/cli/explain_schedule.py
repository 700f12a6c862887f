"""`kubelite explain-schedule NAMESPACE/POD`: per node, which filter refused the pod and each score."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from kubelite.api.types import core_v1
from kubelite.client import ApiClient, ApiError, KubeconfigError
from kubelite.scheduler.algorithm import Algorithm, NodeReport
from kubelite.scheduler.cache import SchedulerCache, pod_key

BOUND_NOTE = "Pod {pod} is bound to {node}; explaining where it would go if it were pending now."


def render(reports: list[NodeReport]) -> str:
    feasible = [r for r in reports if r.feasible]
    lines = [f"{len(feasible)}/{len(reports)} nodes are feasible.", ""]
    lines.append(f"{'NODE':<24} {'RESULT':<10} DETAIL")
    ranked = sorted(feasible, key=lambda r: -sum(r.scores.values())) + [r for r in reports if not r.feasible]
    for r in ranked:
        if r.feasible:
            scores = ", ".join(f"{k}={v}" for k, v in sorted(r.scores.items()))
            lines.append(f"{r.node:<24} {'fits':<10} total={sum(r.scores.values())} ({scores})")
        else:
            lines.append(f"{r.node:<24} {'refused':<10} {r.plugin}: {'; '.join(r.reasons)}")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    namespace, _, name = args.pod.rpartition("/")
    namespace = namespace or "default"
    try:
        client = ApiClient.from_kubeconfig(args.kubeconfig)
    except KubeconfigError as e:
        print(f"kubelite: {e}", file=sys.stderr)
        return 1
    async with client:
        try:
            pod = await client.get("pods", name, namespace)
            nodes = (await client.list("nodes")).items
            pods = (await client.list("pods", field_selector="spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed")).items
            services = (await client.list("services")).items
            replica_sets = (await client.list("replicasets")).items
            claims = (await client.list("persistentvolumeclaims")).items
            volumes = (await client.list("persistentvolumes")).items
            storage_classes = (await client.list("storageclasses")).items
        except ApiError as e:
            print(f"Error from server ({e.reason}): {e.message}", file=sys.stderr)
            return 1
    bound_to = pod.spec.node_name if pod.spec else None
    if bound_to:
        print(BOUND_NOTE.format(pod=pod_key(pod), node=bound_to))
    print(render(explain(pod, nodes, pods, services=services, replica_sets=replica_sets, claims=claims,
                         volumes=volumes, storage_classes=storage_classes)))
    return 0


def explain(pod: core_v1.Pod, nodes: list[core_v1.Node], pods: list[core_v1.Pod], *, services: list[Any],
            replica_sets: list[Any], claims: list[Any], volumes: list[Any],
            storage_classes: list[Any]) -> list[NodeReport]:
    """Every node's fate for `pod` among the bound `pods` (a bound pod is explained as if it
    were pending again). Shared with the dashboard's Pending pod page."""
    cache = SchedulerCache()
    for node in nodes:
        cache.add_node(node)
    key = pod_key(pod)
    for p in pods:
        if pod_key(p) != key:
            cache.add_pod(p)
    if pod.spec and pod.spec.node_name:
        pod = msgspec.structs.replace(pod, spec=msgspec.structs.replace(pod.spec, node_name=None))
    classes = {sc.metadata.name: sc for sc in storage_classes if sc.metadata}
    snapshot = cache.snapshot(services=services, replica_sets=replica_sets,
                              claims={pod_key(c): c for c in claims},
                              volumes={v.metadata.name: v for v in volumes if v.metadata},
                              storage_classes=classes)
    return Algorithm().explain(pod, snapshot)
