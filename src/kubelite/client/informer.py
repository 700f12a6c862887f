"""List + watch + an indexed local cache + handlers: how components see the cluster.

An Informer lists a kind once, then watches from the list's resourceVersion. A watch that
ends is resumed from the last resourceVersion seen (bookmarks included); a 410 Gone (HTTP or
ERROR event) means that version was compacted, so it lists again and reconciles its cache,
calling handlers for what changed meanwhile. Components never poll.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import aiohttp

from kubelite.api.registry import Kind
from kubelite.client.api_client import ListResult, meta_field, object_key, resolve_kind
from kubelite.client.errors import ApiError, Gone

log = logging.getLogger(__name__)

Obj = Any
Handler = Callable[..., Any]
IndexFunc = Callable[[Obj], Iterable[str]]


class ListWatchClient(Protocol):
    """The two client methods an informer needs (ApiClient and test fakes provide them)."""

    async def list(self, kind: Kind | str, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   resource_version: str | None = None, limit: int | None = None,
                   raw: bool = False) -> ListResult: ...

    def watch(self, kind: Kind | str, namespace: str | None = None, *,
              resource_version: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None, allow_bookmarks: bool = True,
              timeout: int | None = None, raw: bool = False) -> Any: ...


def resource_version(obj: Obj) -> str:
    return str(meta_field(obj, "resourceVersion", "resource_version") or "")


class Informer:
    """A watched, indexed, in-memory copy of one kind (optionally filtered by selectors)."""

    def __init__(self, client: ListWatchClient, kind: Kind | str, namespace: str | None = None,
                 label_selector: str | None = None, field_selector: str | None = None, *,
                 raw: bool = False, indexers: dict[str, IndexFunc] | None = None,
                 watch_timeout: int = 300, retry_delay: float = 0.2) -> None:
        self.client = client
        self.kind = resolve_kind(kind)
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.raw = raw
        self.watch_timeout = watch_timeout
        self.retry_delay = retry_delay
        self.last_resource_version = ""
        self._cache: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = dict(indexers or {})
        self._indices: dict[str, dict[str, set[str]]] = {n: {} for n in self._indexers}
        self._on_add: list[Handler] = []
        self._on_update: list[Handler] = []
        self._on_delete: list[Handler] = []
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    # -- wiring -----------------------------------------------------------------------------

    def on_add(self, handler: Handler) -> Handler:
        """Call handler(obj) for each new object (also usable as a decorator)."""
        self._on_add.append(handler)
        return handler

    def on_update(self, handler: Handler) -> Handler:
        """Call handler(old, new) for each change."""
        self._on_update.append(handler)
        return handler

    def on_delete(self, handler: Handler) -> Handler:
        """Call handler(last_known_obj) for each deletion."""
        self._on_delete.append(handler)
        return handler

    def add_indexer(self, name: str, func: IndexFunc) -> None:
        self._indexers[name] = func
        self._indices[name] = {}
        for key, obj in self._cache.items():
            self._index(key, obj)

    def start(self) -> asyncio.Task[None]:
        if self._task is None:
            self._stopped = False
            self._task = asyncio.create_task(self._run(), name=f"informer-{self.kind.plural}")
        return self._task

    async def has_synced(self) -> bool:
        """Wait until the first list is in the cache and its handlers have run."""
        await self._synced.wait()
        return True

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # stopping is best effort
                pass
            self._task = None

    # -- cache reads ------------------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        """The cached object by "namespace/name" (or "name" when cluster-scoped)."""
        return self._cache.get(key)

    def get_by_name(self, name: str, namespace: str | None = None) -> Obj | None:
        return self._cache.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> list[Obj]:
        return list(self._cache.values())

    def keys(self) -> builtins.list[str]:
        return builtins.list(self._cache)

    def by_index(self, index: str, value: str) -> builtins.list[Obj]:
        """Cached objects whose indexer `index` produced `value` (e.g. pods by spec.nodeName)."""
        return [self._cache[k] for k in self._indices[index].get(value, ())]

    def __len__(self) -> int:
        return len(self._cache)

    # -- the loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        need_list = True
        while not self._stopped:
            try:
                if need_list:
                    await self._list_and_replace()
                    need_list = False
                await self._watch_once()
                attempt = 0
            except Gone:
                need_list = True
            except asyncio.CancelledError:
                raise
            except (TimeoutError, ApiError, aiohttp.ClientError, OSError) as e:
                log.debug("informer %s: %s; retrying", self.kind.plural, e)
                await asyncio.sleep(min(5.0, self.retry_delay * (2 ** attempt)))
                attempt += 1
                if isinstance(e, ApiError):
                    need_list = True
            except Exception:  # a bug in decoding must not kill the component
                log.exception("informer %s failed; re-listing", self.kind.plural)
                await asyncio.sleep(self.retry_delay)
                need_list = True

    async def _list_and_replace(self) -> None:
        result = await self.client.list(
            self.kind, self.namespace, label_selector=self.label_selector,
            field_selector=self.field_selector, raw=self.raw)
        fresh = {object_key(o): o for o in result.items}
        for key in [k for k in self._cache if k not in fresh]:
            await self._delete(key, self._cache[key])
        for key, obj in fresh.items():
            await self._upsert(key, obj)
        self.last_resource_version = result.resource_version
        self._synced.set()

    async def _watch_once(self) -> None:
        stream = self.client.watch(
            self.kind, self.namespace, resource_version=self.last_resource_version,
            label_selector=self.label_selector, field_selector=self.field_selector,
            allow_bookmarks=True, timeout=self.watch_timeout, raw=self.raw)
        async for etype, obj in stream:
            if etype == "ERROR":
                status = obj if isinstance(obj, dict) else {}
                log.debug("informer %s: watch error %s", self.kind.plural, status)
                raise Gone(status)  # every ERROR event is answered with a re-list
            rv = resource_version(obj)
            if etype == "BOOKMARK":
                if rv:
                    self.last_resource_version = rv
                continue
            key = object_key(obj)
            if etype == "DELETED":
                await self._delete(key, obj)
            else:
                await self._upsert(key, obj)
            if rv:
                self.last_resource_version = rv

    async def _upsert(self, key: str, obj: Obj) -> None:
        old = self._cache.get(key)
        if old is not None and resource_version(old) == resource_version(obj) and resource_version(obj):
            return  # a re-list returned what we already had
        self._unindex(key)
        self._cache[key] = obj
        self._index(key, obj)
        if old is None:
            await self._call(self._on_add, obj)
        else:
            await self._call(self._on_update, old, obj)

    async def _delete(self, key: str, obj: Obj) -> None:
        if key not in self._cache:
            return
        self._unindex(key)
        del self._cache[key]
        await self._call(self._on_delete, obj)

    async def _call(self, handlers: builtins.list[Handler], *args: Obj) -> None:
        for handler in handlers:
            try:
                result = handler(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("informer %s: handler %r failed", self.kind.plural, handler)

    def _index(self, key: str, obj: Obj) -> None:
        for name, func in self._indexers.items():
            for value in func(obj) or ():
                self._indices[name].setdefault(value, set()).add(key)

    def _unindex(self, key: str) -> None:
        old = self._cache.get(key)
        if old is None:
            return
        for name, func in self._indexers.items():
            for value in func(old) or ():
                bucket = self._indices[name].get(value)
                if bucket is not None:
                    bucket.discard(key)
                    if not bucket:
                        del self._indices[name][value]


class InformerView(Informer):
    """A filtered, optionally converted, view of another informer's cache with its own handlers.

    One watch of a kind can feed several views (the scheduler's pending and assigned pods
    from one pods informer): `select` is the local equivalent of a field selector, applied
    to the parent's objects, and `transform` (e.g. dict -> typed Struct) runs only on objects
    that match. As a selected watch does, an object that stops matching is reported deleted
    and one that starts matching is reported added. Starting a view starts its parent;
    stopping a view leaves the parent to its owner. Objects already in the parent's cache when
    the view is made are copied in without calling handlers.
    """

    def __init__(self, parent: Informer, select: Callable[[Obj], bool] | None = None,
                 transform: Callable[[Obj], Obj] | None = None, *,
                 indexers: dict[str, IndexFunc] | None = None) -> None:
        super().__init__(parent.client, parent.kind, parent.namespace, parent.label_selector,
                         parent.field_selector, raw=parent.raw and transform is None,
                         indexers=indexers)
        self.parent = parent
        self.select = select or (lambda _obj: True)
        self.transform = transform or (lambda obj: obj)
        for key, obj in parent._cache.items():
            if self.select(obj):
                new = self.transform(obj)
                self._cache[key] = new
                self._index(key, new)
        parent.on_add(self._parent_added)
        parent.on_update(self._parent_updated)
        parent.on_delete(self._parent_deleted)

    async def _parent_added(self, obj: Obj) -> None:
        if self.select(obj):
            await self._upsert(object_key(obj), self.transform(obj))

    async def _parent_updated(self, old: Obj, new: Obj) -> None:
        key = object_key(new)
        if self.select(new):
            await self._upsert(key, self.transform(new))
        elif key in self._cache:
            await self._delete(key, self._cache[key])

    async def _parent_deleted(self, obj: Obj) -> None:
        key = object_key(obj)
        if key in self._cache:
            await self._delete(key, self._cache[key])

    def start(self) -> asyncio.Task[None]:
        return self.parent.start()

    async def has_synced(self) -> bool:
        return await self.parent.has_synced()

    @property
    def synced(self) -> bool:
        return self.parent.synced

    async def stop(self) -> None:
        """Nothing to stop: the parent's owner stops the parent."""
