"""Builders for pods and nodes (msgspec types) and a fake in-memory client for the scheduler."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from kubelite.api.types import core_v1
from kubelite.client.api_client import ListResult, resolve_kind
from kubelite.scheduler.cache import NodeInfo, Snapshot


def make_node(name: str, cpu: str = "4", memory: str = "8Gi", pods: int = 110,
              labels: dict[str, str] | None = None, taints: list[dict[str, Any]] | None = None,
              unschedulable: bool = False, images: list[dict[str, Any]] | None = None) -> core_v1.Node:
    return msgspec.convert({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints, "unschedulable": unschedulable or None},
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": str(pods)},
                   "images": images},
    }, core_v1.Node)


def make_pod(name: str, cpu: str | None = None, memory: str | None = None, ns: str = "default",
             node: str | None = None, labels: dict[str, str] | None = None,
             **spec: Any) -> core_v1.Pod:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container: dict[str, Any] = {"name": "c", "image": spec.pop("image", "busybox")}
    if requests:
        container["resources"] = {"requests": requests}
    if "ports" in spec:
        container["ports"] = spec.pop("ports")
    body = {"metadata": {"name": name, "namespace": ns, "labels": labels,
                         "uid": f"uid-{name}", "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"containers": [container], "nodeName": node, **spec}}
    return msgspec.convert(_drop_none(body), core_v1.Pod)


def _drop_none(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d


def snapshot(nodes: list[core_v1.Node], pods: list[core_v1.Pod] = ()) -> Snapshot:  # type: ignore[assignment]
    infos = {n.metadata.name: NodeInfo(n) for n in nodes}  # type: ignore[union-attr]
    for p in pods:
        infos[p.spec.node_name].add_pod(p)  # type: ignore[union-attr,index]
    return Snapshot(list(infos.values()))


def _field(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


def matches_fields(obj: dict[str, Any], selector: str | None) -> bool:
    for term in (selector or "").split(","):
        if not term:
            continue
        if "!=" in term:
            key, value = term.split("!=", 1)
            if _field(obj, key) == value:
                return False
        else:
            key, value = term.split("=", 1)
            if _field(obj, key) != value:
                return False
    return True


class FakeClient:
    """The client methods the scheduler uses, over dicts in memory, with field-selected watches."""

    def __init__(self) -> None:
        self.rv = 1
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.watchers: list[tuple[str, str | None, asyncio.Queue[tuple[str, dict[str, Any]]]]] = []
        self.events: list[dict[str, Any]] = []
        self.patches: list[tuple[str, Any]] = []
        self.bindings: list[tuple[str, str]] = []
        self.fail_binds = 0

    def _emit(self, plural: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        for wp, sel, q in self.watchers:
            if wp != plural:
                continue
            was = before is not None and matches_fields(before, sel)
            now = after is not None and matches_fields(after, sel)
            if now:
                q.put_nowait(("MODIFIED" if was else "ADDED", copy.deepcopy(after)))  # type: ignore[arg-type]
            elif was:
                q.put_nowait(("DELETED", copy.deepcopy(after or before)))  # type: ignore[arg-type]

    def put(self, plural: str, obj: Any) -> None:
        body = obj if isinstance(obj, dict) else msgspec.to_builtins(obj)
        body = copy.deepcopy(body)
        self.rv += 1
        body["metadata"]["resourceVersion"] = str(self.rv)
        key = f"{body['metadata'].get('namespace', '')}/{body['metadata']['name']}"
        store = self.objects.setdefault(plural, {})
        before = store.get(key)
        store[key] = body
        self._emit(plural, before, body)

    def remove(self, plural: str, namespace: str, name: str) -> None:
        before = self.objects.get(plural, {}).pop(f"{namespace}/{name}", None)
        if before is not None:
            self._emit(plural, before, None)

    async def list(self, kind: Any, namespace: str | None = None, *, field_selector: str | None = None,
                   raw: bool = False, **_: Any) -> ListResult:
        k = resolve_kind(kind)
        items = [o for o in self.objects.get(k.plural, {}).values() if matches_fields(o, field_selector)]
        return ListResult([o if raw else msgspec.convert(o, k.type) for o in items], str(self.rv))

    async def watch(self, kind: Any, namespace: str | None = None, *, field_selector: str | None = None,
                    raw: bool = False, **_: Any) -> AsyncIterator[tuple[str, Any]]:
        k = resolve_kind(kind)
        q: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        entry = (k.plural, field_selector, q)
        self.watchers.append(entry)
        try:
            while True:
                etype, obj = await q.get()
                yield etype, obj if raw else msgspec.convert(obj, k.type)
        finally:
            self.watchers.remove(entry)

    async def bind(self, pod: Any, node_name: str) -> None:
        if self.fail_binds:
            self.fail_binds -= 1
            raise RuntimeError("binding refused")
        key = f"{pod.metadata.namespace}/{pod.metadata.name}"
        body = copy.deepcopy(self.objects["pods"][key])
        body["spec"]["nodeName"] = node_name
        self.bindings.append((key, node_name))
        self.put("pods", body)

    async def patch(self, kind: Any, name: str, namespace: str | None, body: Any, **kw: Any) -> Any:
        if resolve_kind(kind).plural == "events":
            return dict(body, metadata={"name": name, "namespace": namespace})
        self.patches.append((f"{namespace}/{name}", body))
        return None

    async def create(self, kind: Any, obj: Any, namespace: str | None = None, **kw: Any) -> Any:
        """Only events are created by the scheduler: kept as what tests look at."""
        assert resolve_kind(kind).plural == "events"
        ref = obj["involvedObject"]
        self.events.append({"object": f"{ref['namespace']}/{ref['name']}", "reason": obj["reason"],
                            "message": obj["message"], "type": obj["type"], "event": obj})
        return obj
