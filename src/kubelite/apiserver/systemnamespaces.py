"""The system namespaces controller of kube-apiserver (pkg/controlplane/controller/
systemnamespaces): default, kube-system, kube-public and kube-node-lease exist from the start,
and one that gets deleted is created again.

Kubernetes checks every minute. kube-node-lease can be deleted (`kubectl delete namespace
--all`) and every kubelet's heartbeat lives there, so here a deletion seen in the watch cache
brings it back at once; the minute's check stays for anything a watch could miss. (default,
kube-system and kube-public refuse deletion in the object store.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.apiserver.watchcache import WatchCache, Watcher

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CHECK_PERIOD = 60.0  # Kubernetes' systemNamespacesController runs every minute
FIELD_MANAGER = "kube-apiserver"
NAMESPACES = by_resource("", "v1", "namespaces")


class SystemNamespaces:
    """Creates the system namespaces at start, when one is deleted, and on every check."""

    def __init__(self, store: ObjectStore, names: tuple[str, ...] = SYSTEM_NAMESPACES,
                 period: float = CHECK_PERIOD) -> None:
        assert NAMESPACES is not None
        self.store = store
        self.names = names
        self.period = period
        self._prefix = objects.collection_prefix(NAMESPACES, None)
        self._task: asyncio.Task[None] | None = None

    async def ensure(self) -> list[str]:
        """Create every system namespace that does not exist; returns those created."""
        assert NAMESPACES is not None
        created = []
        for name in self.names:
            if await self.store.store.get(objects.object_key(NAMESPACES, None, name)) is not None:
                continue
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            with contextlib.suppress(st.AlreadyExists):  # another API server was quicker
                await self.store.create(NAMESPACES, None, body,
                                        WriteOptions(field_manager=FIELD_MANAGER))
                created.append(name)
        return created

    async def start(self, cache: WatchCache) -> None:
        await self.ensure()
        self._task = asyncio.create_task(self._run(cache), name="system-namespaces")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, cache: WatchCache) -> None:
        while True:
            watcher = cache.subscribe(self._prefix, cache.revision, None)
            try:
                await self._follow(watcher)
            finally:
                cache.unsubscribe(watcher)
            await self._check()  # the watch was cut off: look, then watch again

    async def _follow(self, watcher: Watcher) -> None:
        """Until the watch is cut off: check when a system namespace goes, or a period passes."""
        while True:
            try:
                async with asyncio.timeout(self.period):
                    item = await watcher.queue.get()
            except TimeoutError:
                await self._check()
                continue
            if item is None:
                return
            kind, event = item
            if kind == "DELETED" and event.key.rsplit("/", 1)[-1] in self.names:
                await self._check()

    async def _check(self) -> None:
        try:
            created = await self.ensure()
        except Exception:  # noqa: BLE001 - the next event or period tries again
            log.exception("creating the system namespaces failed")
            return
        if created:
            log.info("created system namespace(s) %s", ", ".join(created))
