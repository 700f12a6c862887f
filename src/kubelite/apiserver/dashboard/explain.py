"""The scheduler's per-node explanation for one pod, as `kubelite explain-schedule` prints it,
for the dashboard's Pending pod page (`GET /dashboard/api/explain?namespace=NS&name=POD`).

Nodes and bound pods come from the sampler's feed (kept current from the watch cache; no
list of every pod per request); the pod itself and the few objects some filters consult
(Services, ReplicaSets, claims, volumes, storage classes) are read from the store. The
scheduler runs in a worker thread (its plugins are synchronous and scale with the nodes),
one explanation at a time, and is given up on after `TIMEOUT` seconds. The scheduler lives
in the controller-manager process, not here: its modules (and numpy) are imported on the first
explanation only, in that thread (measured: ~0.2 s and ~17 MiB of RSS, once).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

import msgspec

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.api.types import core_v1
from kubelite.apiserver import objects
from kubelite.store.interface import Store

TIMEOUT = 10.0  # seconds an explanation may take before the request gets a 504
POD = by_resource("", "v1", "pods")
# What the filters consult besides nodes and pods, by the keyword explain() takes them as.
CONSULTED = {
    "services": ("", "v1", "services"),
    "replica_sets": ("apps", "v1", "replicasets"),
    "claims": ("", "v1", "persistentvolumeclaims"),
    "volumes": ("", "v1", "persistentvolumes"),
    "storage_classes": ("storage.k8s.io", "v1", "storageclasses"),
}


def _kind(group: str, version: str, plural: str) -> Kind:
    kind = by_resource(group, version, plural)
    assert kind is not None
    return kind


class Explainer:
    """Explains one pod at a time; a second asker meanwhile gets 429 and tries again."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._busy = asyncio.Lock()

    async def explain(self, namespace: str, name: str, nodes: list[dict[str, Any]],
                      pods: list[dict[str, Any]]) -> dict[str, Any]:
        assert POD is not None
        kv = await self.store.get(objects.object_key(POD, namespace, name))
        if kv is None:
            raise st.not_found("pods", name)
        if self._busy.locked():
            raise st.TooManyRequests("an explanation is being computed; try again in a moment")
        async with self._busy:
            consulted: dict[str, list[bytes]] = {}
            for keyword, resource in CONSULTED.items():
                page = await self.store.list(objects.collection_prefix(_kind(*resource), None))
                consulted[keyword] = [item.value for item in page.items]
            try:
                return await asyncio.wait_for(asyncio.to_thread(compute, kv.value, nodes, pods, consulted), TIMEOUT)
            except TimeoutError:
                raise st.Timeout(f"the scheduler's explanation took longer than {TIMEOUT:.0f}s") from None


def compute(raw_pod: bytes, nodes: list[dict[str, Any]], pods: list[dict[str, Any]],
            consulted: dict[str, list[bytes]]) -> dict[str, Any]:
    """Runs in a worker thread: decode, build the scheduler's snapshot, explain every node."""
    from kubelite.cli.explain_schedule import explain, render
    from kubelite.scheduler.cache import pod_key

    pod = msgspec.json.decode(raw_pod, type=core_v1.Pod)
    typed = {keyword: [msgspec.json.decode(data, type=_kind(*CONSULTED[keyword]).type) for data in items]
             for keyword, items in consulted.items()}
    reports = explain(pod, [msgspec.convert(n, core_v1.Node) for n in nodes],
                      [msgspec.convert(p, core_v1.Pod) for p in pods], **typed)
    return {
        "pod": pod_key(pod),
        "nodeName": (pod.spec.node_name or "") if pod.spec else "",
        "feasible": sum(r.feasible for r in reports),
        "nodes": [{**asdict(r), "reasons": list(r.reasons)} for r in reports],
        "text": render(reports),
    }
