"""Admission checks that need the cluster's state (run after validation, before the write)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.interface import Store

log = logging.getLogger(__name__)
NAMESPACES = by_resource("", "v1", "namespaces")


class _CacheCopy:
    """A local copy of one kind: listed from the store, then kept current from the watch
    cache (as Kubernetes' admission plugins use informers). Subclasses say how to keep it."""

    task_name = "cache-copy"

    def __init__(self, store: Store, kind: Kind) -> None:
        self.store = store
        self.kind = kind
        self._task: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, cache: WatchCache) -> None:
        prefix = objects.collection_prefix(self.kind, None)
        page = await self.store.list(prefix)
        for kv in page.items:
            self._put(objects.decode(kv.value))
        watcher = cache.subscribe(prefix, page.revision, None)
        self._task = asyncio.create_task(self._follow(cache, watcher), name=self.task_name)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self, cache: WatchCache, watcher: Any) -> None:
        try:
            while True:
                item = await watcher.queue.get()
                if item is None:  # cut off: forget everything, callers fall back to the store
                    self._forget_all()
                    return
                kind, event = item
                if kind == "DELETED":
                    self._drop(event.obj)
                else:
                    self._put(event.obj)
        finally:
            cache.unsubscribe(watcher)

    def _put(self, obj: dict[str, Any]) -> None:
        raise NotImplementedError

    def _drop(self, obj: dict[str, Any]) -> None:
        raise NotImplementedError

    def _forget_all(self) -> None:
        raise NotImplementedError


class NamespaceLifecycle(_CacheCopy):
    """New objects need an existing namespace that is not being deleted.

    Namespace states come from a local copy fed by the watch cache (as Kubernetes' admission
    plugin uses an informer); a namespace missing from it is looked up in the store, so a
    namespace created a moment ago is never refused.
    """

    task_name = "namespace-lifecycle"

    def __init__(self, store: Store) -> None:
        assert NAMESPACES is not None
        super().__init__(store, NAMESPACES)
        self._terminating: dict[str, bool] = {}

    def _put(self, ns: dict[str, Any]) -> None:
        self._terminating[ns["metadata"]["name"]] = _is_terminating(ns)

    def _drop(self, ns: dict[str, Any]) -> None:
        self._terminating.pop(ns["metadata"]["name"], None)

    def _forget_all(self) -> None:
        self._terminating.clear()

    async def _terminating_state(self, namespace: str) -> bool | None:
        known = self._terminating.get(namespace)
        if known is not None:
            return known
        assert NAMESPACES is not None
        kv = await self.store.get(objects.object_key(NAMESPACES, None, namespace))
        return None if kv is None else _is_terminating(objects.decode(kv.value))

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if old is not None or not kind.namespaced or not namespace:
            return
        terminating = await self._terminating_state(namespace)
        if terminating is None:
            raise st.not_found("namespaces", namespace)
        if terminating and kind.kind != "Event":
            raise st.Forbidden(
                f'{kind.plural} "{obj.metadata.name}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                name=obj.metadata.name or "", group=kind.group, kind=kind.plural,
                causes=[{"reason": "NamespaceTerminating", "message": f"namespace {namespace} is being terminated",
                         "field": "metadata.namespace"}],  # clients tell this refusal from others by it
            )


def _is_terminating(ns: dict[str, Any]) -> bool:
    return bool(ns.get("metadata", {}).get("deletionTimestamp")) or (ns.get("status") or {}).get("phase") == "Terminating"


STORAGE_CLASSES = by_resource("storage.k8s.io", "v1", "storageclasses")
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"


class StorageAdmission:
    """Kubernetes' DefaultStorageClass and StorageObjectInUseProtection admission plugins.

    A new claim without a class gets the default StorageClass (the newest one marked
    default); new claims and volumes get their protection finalizer at once, so no window
    exists in which an in-use claim could be deleted.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if old is not None:
            return
        if kind.kind == "PersistentVolumeClaim":
            if obj.spec is not None and obj.spec.storage_class_name is None:
                default = await self._default_class()
                if default:
                    obj.spec.storage_class_name = default
            _add_finalizer(obj, PVC_PROTECTION)
        elif kind.kind == "PersistentVolume":
            _add_finalizer(obj, PV_PROTECTION)

    async def _default_class(self) -> str | None:
        return await newest_default_class(self.store, STORAGE_CLASSES, DEFAULT_CLASS_ANNOTATION)


async def newest_default_class(store: Store, kind: Kind | None, annotation: str) -> str | None:
    """The class of `kind` marked default by `annotation: "true"`; of several, the newest
    (equal creation times: the first name), as Kubernetes' default-class plugins choose."""
    assert kind is not None
    page = await store.list(objects.collection_prefix(kind, None))
    marked: list[tuple[str, str]] = []
    for kv in page.items:
        meta = objects.decode(kv.value).get("metadata", {})
        if (meta.get("annotations") or {}).get(annotation) == "true":
            marked.append((meta.get("creationTimestamp", ""), meta.get("name", "")))
    if not marked:
        return None
    newest = max(ts for ts, _ in marked)
    return min(name for ts, name in marked if ts == newest)


def _add_finalizer(obj: Any, name: str) -> None:
    finalizers = list(obj.metadata.finalizers or [])
    if name not in finalizers:
        obj.metadata.finalizers = [*finalizers, name]


class WatchedKind(_CacheCopy):
    """An in-memory copy of every object of one kind, fed by the watch cache, so admission
    plugins read it without a store round trip per request (as Kubernetes' listers do)."""

    def __init__(self, store: Store, kind: Kind | None) -> None:
        assert kind is not None
        super().__init__(store, kind)
        self.task_name = f"watched-{kind.plural}"
        self._by_namespace: dict[str, dict[str, dict[str, Any]]] = {}

    def _drop(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self._by_namespace.get(meta.get("namespace", ""), {}).pop(meta["name"], None)

    def _forget_all(self) -> None:
        self._by_namespace.clear()

    def _put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self._by_namespace.setdefault(meta.get("namespace", ""), {})[meta["name"]] = obj

    async def in_namespace(self, namespace: str) -> list[dict[str, Any]]:
        if self.started:
            return list(self._by_namespace.get(namespace, {}).values())
        page = await self.store.list(objects.collection_prefix(self.kind, namespace))
        return [objects.decode(kv.value) for kv in page.items]
