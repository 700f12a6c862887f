"""Every object's current bytes, kept from the watch cache's events, to serve LISTs from memory.

kube-apiserver answers a LIST from its watch cache rather than from etcd (ConsistentListFromCache,
on by default since 1.31): for a consistent LIST it asks etcd for the current revision, waits
until the cache has seen it, and reads memory. Here the same: the watch cache loads everything
under /registry/ once at start (and again after falling behind compaction), applies each event as
it publishes it, and a LIST of one collection is a walk of this table in key order, whichever
store is underneath. Reading 100,000 pods back from etcd over gRPC cost the API server more than
a second; from here it is a sort and a join.

The bytes are those of the events (resourceVersion already set), shared with the ring buffer.
Keys that are not `/registry/<group>/<resource>/[<namespace>/]<name>` are not kept; no LIST of a
kind asks for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubelite.api.registry import Kind
from kubelite.apiserver.objects import REGISTRY_PREFIX, collection_prefix, decode
from kubelite.apiserver.query import parse_resource_version
from kubelite.apiserver.rest import ListPage
from kubelite.store.interface import Store

if TYPE_CHECKING:
    from kubelite.apiserver.watchcache import WatchCache

STALL = 0.25  # seconds without progress after which a consistent LIST asks the store instead
BLOCK = 3.0  # seconds a consistent LIST waits for a cache that is catching up (Kubernetes' 3 s)
FILTER_BATCH = 1000  # objects decoded for a selector between two turns of the event loop

# resource prefix ("/registry/<group>/<resource>/") -> namespace ("" when cluster-scoped) -> name -> bytes
Table = dict[str, dict[str, dict[str, bytes]]]


def split_key(key: str) -> tuple[str, str, str] | None:
    """(resource prefix, namespace or "", name) of an object's store key; None for other keys."""
    if not key.startswith(REGISTRY_PREFIX):
        return None
    parts = key[len(REGISTRY_PREFIX) :].split("/")
    if len(parts) == 4:
        group, resource, namespace, name = parts
    elif len(parts) == 3:
        group, resource, name = parts
        namespace = ""
    else:
        return None
    if not (group and resource and name):
        return None
    return f"{REGISTRY_PREFIX}{group}/{resource}/", namespace, name


class ListCache:
    """The current value of every object key, by resource, namespace and name."""

    def __init__(self) -> None:
        self._table: Table = {}

    def load(self, items: list[tuple[str, bytes]]) -> None:
        """Replace everything with `items` (key, bytes with resourceVersion set)."""
        self._table = {}
        for key, data in items:
            self.put(key, data)

    def put(self, key: str, data: bytes) -> None:
        where = split_key(key)
        if where is None:
            return
        resource, namespace, name = where
        self._table.setdefault(resource, {}).setdefault(namespace, {})[name] = data

    def delete(self, key: str) -> None:
        where = split_key(key)
        if where is None:
            return
        resource, namespace, name = where
        names = self._table.get(resource, {}).get(namespace)
        if names is None:
            return
        names.pop(name, None)
        if not names:
            del self._table[resource][namespace]

    def items(self, resource: str, namespace: str | None, name: str | None = None) -> list[bytes]:
        """The objects of `resource` (a collection prefix without namespace), in key order as
        the store lists them: of one namespace when `namespace` is given, of one name when
        `name` is."""
        spaces = self._table.get(resource)
        if not spaces:
            return []
        if namespace is not None:
            chosen = [namespace] if namespace in spaces else []
        else:
            # Key order is namespace + "/" then name: "a-b/x" sorts before "a/y".
            chosen = sorted(spaces, key=lambda ns: ns + "/")
        out: list[bytes] = []
        for ns in chosen:
            names = spaces[ns]
            if name is not None:
                if name in names:
                    out.append(names[name])
            else:
                out += [names[n] for n in sorted(names)]
        return out

    def count(self) -> int:
        return sum(len(names) for spaces in self._table.values() for names in spaces.values())


def from_cache(resource_version: str, limit: int, continue_token: str, exact: bool) -> bool:
    """Whether a LIST is answered from the table, as kube-apiserver 1.32's cacher decides
    (shouldDelegateList): a continue token or resourceVersionMatch=Exact go to the store; so does
    a page (`limit`) of any resourceVersion but "0", which the table cannot cut at a revision of
    its own. resourceVersion "0" is answered whole, its limit ignored (no continue token), as
    Kubernetes answers the first LIST of every client-go informer; unpaged "" and NotOlderThan
    LISTs come from the table too."""
    if continue_token or exact:
        return False
    return not limit or resource_version == "0"


async def cached_page(
    cache: WatchCache,
    store: Store,
    kind: Kind,
    namespace: str | None,
    *,
    resource_version: str,
    matches: Callable[[dict[str, Any]], bool] | None,
    exact_name: str | None,
) -> ListPage | None:
    """A LIST (see `from_cache`) served from the watch cache's table, or None when the store
    must answer.

    resourceVersion "" is a consistent read: the store's current revision, once the cache has
    seen it (see `_caught_up`). "0": whatever the cache holds. Any other (NotOlderThan): once the
    cache has seen it, else 504 as for a GET.
    """
    if resource_version == "":
        if not await _caught_up(cache, await store.current_revision()):
            cache.lists_fallen_back += 1
            return None
    elif resource_version != "0":
        await cache.wait_until_fresh(parse_resource_version(resource_version))
    revision = cache.revision
    cache.lists_served += 1
    items = cache.objects.items(collection_prefix(kind, None), namespace if kind.namespaced else None, exact_name)
    if matches is None:
        return ListPage(items, revision)
    kept: list[bytes] = []
    for start in range(0, len(items), FILTER_BATCH):
        kept += [data for data in items[start : start + FILTER_BATCH] if matches(decode(data))]
        await asyncio.sleep(0)  # decoding thousands of objects: let other requests in between
    return ListPage(kept, revision)


async def _caught_up(cache: WatchCache, revision: int) -> bool:
    """Wait while the cache moves towards `revision` (after a burst of writes it may be
    thousands of events behind); False when it stalls for STALL seconds (another writer moved
    the store's revision outside /registry/, where no event comes to show it) or takes BLOCK."""
    deadline = asyncio.get_running_loop().time() + BLOCK
    while True:
        seen = cache.revision
        if await cache.wait_for(revision, STALL):
            return True
        if cache.revision == seen or asyncio.get_running_loop().time() >= deadline:
            return False
