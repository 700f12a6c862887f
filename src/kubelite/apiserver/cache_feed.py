"""Keeps in-memory copies current from the watch cache, as informers do in Kubernetes: each
kind is listed once from the store, then every change is applied as the watch cache publishes
it, in the same loop turn, without a task of its own. Used by the Node authorizer's graph
(`authz/node_feed.py`) and the dashboard's utilization sampler (`dashboard/feed.py`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from kubelite.api.registry import Kind
from kubelite.apiserver import objects
from kubelite.apiserver.watchcache import CachedEvent, WatchCache, Watcher
from kubelite.store.interface import Store

log = logging.getLogger(__name__)
# Applies one event: its type (ADDED, MODIFIED, DELETED) and the object.
Apply = Callable[[str, dict[str, Any]], None]


def key_of(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata", {})
    return meta.get("namespace", ""), meta.get("name", "")


class CacheFeed:
    """Feeds `kinds` (each with the function applying its events) from the watch cache."""

    name = "cache feed"

    def __init__(self, store: Store, kinds: Sequence[tuple[Kind | None, Apply]]) -> None:
        self.store = store
        self._kinds = list(kinds)
        self._watchers: list[tuple[WatchCache, Watcher]] = []

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

    def _apply(self, apply: Apply, watch_type: str, event: CachedEvent) -> None:
        try:
            apply(watch_type, event.obj)
        except Exception:  # noqa: BLE001 - one odd object must not stop the feed
            log.exception("%s: cannot apply %s of %s", self.name, watch_type, event.key)

    async def stop(self) -> None:
        for cache, watcher in self._watchers:
            cache.unsubscribe(watcher)
        self._watchers.clear()
