"""Shared informers (client-go's SharedInformerFactory) for controllers in one process.

Five workload controllers all watch pods; five watches of the same kind cost the API server
five encodings of every pod change. Controllers built on `SharedController` and given the same
`SharedInformers` get one Informer per (kind, namespace, selectors): indexers and handlers accumulate on
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
        self._informers: dict[tuple[str, str | None, str | None, str | None], Informer] = {}

    def informer(self, kind: str, namespace: str | None = None,
                 indexers: dict[str, Any] | None = None, **kw: Any) -> Informer:
        key = (resolve_kind(kind).plural, namespace,
               kw.get("label_selector"), kw.get("field_selector"))
        inf = self._informers.get(key)
        if inf is None:
            inf = self._informers[key] = Informer(self.client, kind, namespace, raw=True, **kw)
        for name, func in (indexers or {}).items():
            if name not in inf._indices:  # the first registration of a name wins
                inf.add_indexer(name, func)
        return inf

    def raw_informer(self, kind: str) -> Informer:
        """The whole kind, cluster-wide: what the scheduler builds its typed views on."""
        return self.informer(kind)

    async def stop(self) -> None:
        for inf in self._informers.values():
            await inf.stop()


class SharedController(Controller):
    """A Controller given its SharedInformers at construction (see `Controller.share`)."""

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client)
        self.shared = shared
