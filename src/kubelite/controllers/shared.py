"""Shared informers (client-go's SharedInformerFactory) for controllers in one process.

Five workload controllers all watch pods; five watches of the same kind cost the API server
five encodings of every pod change. Controllers built on `SharedController` and given the same
`SharedInformers` get one Informer per (kind, namespace): indexers and handlers accumulate on
it. An indexer name means the same function for every controller that uses it ("uid",
"namespace", "controller", ...), so the first registration wins.
"""

from __future__ import annotations

from typing import Any

from kubelite.client import ApiClient, Informer, resolve_kind
from kubelite.controllers.base import Controller


class SharedInformers:
    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._informers: dict[tuple[str, str | None], Informer] = {}

    def informer(self, kind: str, namespace: str | None = None,
                 indexers: dict[str, Any] | None = None, **kw: Any) -> Informer:
        key = (resolve_kind(kind).plural, namespace)
        inf = self._informers.get(key)
        if inf is None:
            inf = self._informers[key] = Informer(self.client, kind, namespace, raw=True, **kw)
        for name, func in (indexers or {}).items():
            if name not in inf._indices:  # the first registration of a name wins
                inf.add_indexer(name, func)
        return inf


class SharedController(Controller):
    """A Controller whose `informer(...)` comes from a SharedInformers when given one.

    Shared informers are always raw (JSON dicts), which is what these controllers use.
    """

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client)
        self.shared = shared
        self._prepared = False

    def prepare(self) -> None:
        """Register informers and handlers. The manager prepares every controller sharing
        informers before starting any, so no handler misses the first list."""
        if not self._prepared:
            self._prepared = True
            self.setup()

    async def start(self) -> None:
        self.prepare()
        self.setup = lambda: None  # type: ignore[method-assign]  # done above
        await super().start()

    def informer(self, kind: str, **kw: Any) -> Informer:  # type: ignore[override]
        if self.shared is None:
            return super().informer(kind, **kw)
        kw.pop("raw", None)
        inf = self.shared.informer(kind, **kw)
        if inf not in self.informers:
            self.informers.append(inf)
        return inf
