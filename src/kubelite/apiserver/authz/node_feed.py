"""Keeps a NodeGraph current from the watch cache (Kubernetes' graph_populator informers):
pods, PersistentVolumeClaims, PersistentVolumes and Ingresses are listed once, then every change is
applied as the watch cache publishes it, in the same loop turn, without a task of its own."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.authz.node_graph import NodeGraph
from kubelite.apiserver.watchcache import CachedEvent, WatchCache, Watcher
from kubelite.store.interface import Store

log = logging.getLogger(__name__)
Apply = Callable[[str, dict[str, Any]], None]


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return meta.get("namespace", ""), meta.get("name", "")


class NodeGraphFeed:
    def __init__(self, store: Store, graph: NodeGraph) -> None:
        self.store = store
        self.graph = graph
        self._watchers: list[tuple[WatchCache, Watcher]] = []
        g = graph
        self._kinds: list[tuple[Kind | None, Apply]] = [
            (by_resource("", "v1", "persistentvolumes"),
             lambda t, o: g.delete_volume(_key(o)[1]) if t == "DELETED" else g.set_volume(o)),
            (by_resource("", "v1", "persistentvolumeclaims"),
             lambda t, o: g.delete_claim(_key(o)) if t == "DELETED" else g.set_claim(o)),
            (by_resource("", "v1", "pods"),
             lambda t, o: g.delete_pod(_key(o)) if t == "DELETED" else g.set_pod(o)),
            (by_resource("networking.k8s.io", "v1", "ingresses"),
             lambda t, o: g.delete_ingress(_key(o)) if t == "DELETED" else g.set_ingress(o)),
        ]

    async def start(self, cache: WatchCache) -> None:
        for kind, apply in self._kinds:
            assert kind is not None
            prefix = objects.collection_prefix(kind, None)
            page = await self.store.list(prefix)
            for kv in page.items:
                apply("ADDED", objects.decode(kv.value))
            watcher = cache.subscribe(prefix, page.revision, None)
            while not watcher.queue.empty():  # replayed events, before any new one is published
                item = watcher.queue.get_nowait()
                if item is not None:
                    self._apply(apply, *item)
            watcher.deliver = self._deliverer(apply)
            self._watchers.append((cache, watcher))

    def _deliverer(self, apply: Apply) -> Callable[[str, CachedEvent], bool]:
        def deliver(watch_type: str, event: CachedEvent) -> bool:
            self._apply(apply, watch_type, event)
            return True
        return deliver

    @staticmethod
    def _apply(apply: Apply, watch_type: str, event: CachedEvent) -> None:
        try:
            apply(watch_type, event.obj)
        except Exception:  # noqa: BLE001 - one odd object must not stop the graph
            log.exception("node graph: cannot apply %s of %s", watch_type, event.key)

    async def stop(self) -> None:
        for cache, watcher in self._watchers:
            cache.unsubscribe(watcher)
        self._watchers.clear()
