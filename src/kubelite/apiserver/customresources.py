"""CustomResourceDefinitions inside the API server (apiextensions-apiserver's controllers):

- naming and establishing: a CRD's acceptedNames and its NamesAccepted and Established
  conditions (api/crd/conditions.py), written through /status;
- serving: the kinds of every Established CRD handed to the registry (api/registry.py
  `set_custom_kinds`), so routing, discovery, OpenAPI and tables pick them up at once;
- finalizing: a deleted CRD (held by customresourcecleanup.apiextensions.k8s.io) has all its
  objects deleted through the object store, then loses its finalizer and goes.

Each API server runs this from its own watch cache, so every server serves the same kinds;
status writes are conditional, and a conflict only means another server wrote first.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
from typing import Any

from kubelite.api import registry
from kubelite.api import status as st
from kubelite.api.crd import conditions
from kubelite.api.crd.kinds import kinds_of
from kubelite.api.registry import Kind, by_resource
from kubelite.api.strategy.apiextensions import CLEANUP_FINALIZER
from kubelite.apiserver import objects
from kubelite.apiserver.rest import ObjectStore, WriteOptions, now_rfc3339
from kubelite.apiserver.watchcache import WatchCache

log = logging.getLogger(__name__)

CRDS = by_resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
FIELD_MANAGER = "kube-apiserver"
REMAINING_RETRY = 5.0  # seconds between passes over objects a finalizer of theirs still holds

Obj = dict[str, Any]


def serving_key(crd: Obj) -> str:
    """What serving a CRD depends on: its kinds are rebuilt (and watches of them end) only
    when this changes, not on every status write."""
    status = crd.get("status") or {}
    return json.dumps([crd.get("spec"), status.get("acceptedNames"), status.get("storedVersions"),
                       conditions.is_true(crd, conditions.ESTABLISHED),
                       bool(crd["metadata"].get("deletionTimestamp")), crd["metadata"].get("uid")],
                      sort_keys=True)


class CustomResources:
    """Keeps the registry's custom kinds and every CRD's status in step with the store."""

    def __init__(self, store: ObjectStore) -> None:
        assert CRDS is not None
        self.store = store
        self.crds: dict[str, Obj] = {}
        self._kinds: dict[str, tuple[str, list[Kind]]] = {}  # name -> (serving key, kinds)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self, cache: WatchCache) -> None:
        assert CRDS is not None
        prefix = objects.collection_prefix(CRDS, None)
        page = await self.store.store.list(prefix)
        for kv in page.items:
            crd = objects.decode(objects.with_resource_version(kv.value, kv.mod_revision))
            self.crds[crd["metadata"]["name"]] = crd
        await self._serve()
        for name in self.crds:
            self._enqueue(name)
        watcher = cache.subscribe(prefix, page.revision, None)
        self._tasks = [asyncio.create_task(self._follow(cache, watcher), name="crd-watch"),
                       asyncio.create_task(self._work(), name="crd-controllers")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ----- following the store

    async def _follow(self, cache: WatchCache, watcher: Any) -> None:
        while True:
            try:
                while True:
                    item = await watcher.queue.get()
                    if item is None:
                        break
                    event_type, event = item
                    crd = event.obj
                    name = crd["metadata"]["name"]
                    if event_type == "DELETED":
                        self.crds.pop(name, None)
                    else:
                        self.crds[name] = crd
                    await self._serve()
                    self._enqueue_group(crd)
            finally:
                cache.unsubscribe(watcher)
            watcher = await self._relist(cache)  # cut off: list again, then watch again

    async def _relist(self, cache: WatchCache) -> Any:
        assert CRDS is not None
        prefix = objects.collection_prefix(CRDS, None)
        page = await self.store.store.list(prefix)
        self.crds = {}
        for kv in page.items:
            crd = objects.decode(objects.with_resource_version(kv.value, kv.mod_revision))
            self.crds[crd["metadata"]["name"]] = crd
        await self._serve()
        for name in self.crds:
            self._enqueue(name)
        return cache.subscribe(prefix, page.revision, None)

    async def _serve(self) -> None:
        """Hand the registry the kinds of every Established CRD (rebuilt only for CRDs that
        changed since: a new Kind per change keeps schema caches honest). Compiling a schema
        takes tens of milliseconds for a big CRD, so it runs in a thread: the event loop keeps
        answering requests meanwhile."""
        served: list[Kind] = []
        for name, crd in sorted(self.crds.items()):
            version = serving_key(crd)
            cached = self._kinds.get(name)
            if cached is None or cached[0] != version:
                cached = (version, await self._kinds_of(crd))
                self._kinds[name] = cached
            served.extend(cached[1])
        for gone in set(self._kinds) - set(self.crds):
            del self._kinds[gone]
        registry.set_custom_kinds(served)

    @staticmethod
    async def _kinds_of(crd: Obj) -> list[Kind]:
        """The CRD's kinds; none (and a log line) for one whose schema cannot be served,
        which validation should have refused: it must not stop the others being served."""
        try:
            return await asyncio.to_thread(kinds_of, crd)
        except Exception:  # noqa: BLE001 - one bad CRD must not stop the others
            log.exception("serving CustomResourceDefinition %s failed", crd["metadata"].get("name"))
            return []

    def _enqueue(self, name: str) -> None:
        if name not in self._queued:
            self._queued.add(name)
            self._queue.put_nowait(name)

    def _enqueue_group(self, crd: Obj) -> None:
        """A CRD's change can free or take names of the others in its group."""
        group = (crd.get("spec") or {}).get("group")
        self._enqueue(crd["metadata"]["name"])
        for name, other in self.crds.items():
            if (other.get("spec") or {}).get("group") == group:
                self._enqueue(name)

    # ----- the controllers

    async def _work(self) -> None:
        while True:
            name = await self._queue.get()
            self._queued.discard(name)
            try:
                await self.reconcile(name)
            except (st.Conflict, st.NotFound):
                pass  # another server wrote first, or it went: the watch brings the new state
            except Exception:  # noqa: BLE001 - one bad CRD must not stop the others
                log.exception("reconciling CustomResourceDefinition %s failed", name)

    async def reconcile(self, name: str) -> None:
        crd = self.crds.get(name)
        if crd is None:
            return
        if crd["metadata"].get("deletionTimestamp"):
            if CLEANUP_FINALIZER in (crd["metadata"].get("finalizers") or []):
                await self._finalize(crd)
            return
        wanted = conditions.with_naming_status(crd, list(self.crds.values()), now_rfc3339())
        if wanted.get("status") != crd.get("status"):
            await self._write_status(wanted)

    async def _write_status(self, crd: Obj) -> Obj:
        assert CRDS is not None
        result = await self.store.update(CRDS, None, crd["metadata"]["name"], crd,
                                         WriteOptions(field_manager=FIELD_MANAGER), "status")
        written = result.obj
        self.crds[written["metadata"]["name"]] = written
        return written

    async def _finalize(self, crd: Obj) -> None:
        """crd_finalizer.go: delete every object of the CRD, then drop the finalizer."""
        crd = copy.deepcopy(crd)
        now = now_rfc3339()
        if not conditions.is_true(crd, conditions.NAMES_ACCEPTED):
            return  # its names may belong to another CRD now: Kubernetes stops here too
        if conditions.is_true(crd, conditions.ESTABLISHED):
            conditions.set_condition(crd, {
                "type": conditions.TERMINATING, "status": "True", "reason": "InstanceDeletionInProgress",
                "message": "CustomResource deletion is in progress"}, now)
            crd = await self._write_status(crd)
            remaining = await self._delete_instances(crd)
            if remaining:
                conditions.set_condition(crd, {
                    "type": conditions.TERMINATING, "status": "True", "reason": "InstanceDeletionCheck",
                    "message": f"could not confirm zero CustomResources remaining: {remaining} remain"},
                    now_rfc3339())
                await self._write_status(crd)
                asyncio.get_running_loop().call_later(REMAINING_RETRY, self._enqueue,
                                                      crd["metadata"]["name"])
                return
            done = {"type": conditions.TERMINATING, "status": "False",
                    "reason": "InstanceDeletionCompleted", "message": "removed all instances"}
        else:
            done = {"type": conditions.TERMINATING, "status": "False", "reason": "NeverEstablished",
                    "message": "resource was never established"}
        conditions.set_condition(crd, done, now_rfc3339())
        crd["metadata"]["finalizers"] = [f for f in crd["metadata"].get("finalizers") or []
                                         if f != CLEANUP_FINALIZER] or None
        await self._write_status(crd)

    async def _delete_instances(self, crd: Obj) -> int:
        """Delete every object of the CRD; the number still there afterwards (held by
        finalizers of their own)."""
        kinds = self._kinds.get(crd["metadata"]["name"], ("", []))[1]
        if not kinds:
            return 0
        kind = kinds[0]
        page = await self.store.list(kind, None)
        remaining = 0
        for data in page.items:
            meta = objects.decode(data)["metadata"]
            try:
                result = await self.store.delete(kind, meta.get("namespace"), meta["name"], {},
                                                 WriteOptions(field_manager=FIELD_MANAGER))
            except st.NotFound:
                continue
            if result.body is None and result.obj.get("metadata", {}).get("deletionTimestamp"):
                remaining += 1
        return remaining
