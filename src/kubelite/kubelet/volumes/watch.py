"""ConfigMaps and Secrets used by this node's pods, each watched by name (as the kubelet's
watch-based manager does), so a change reaches the volume within moments, not a sync period.

`get` answers from the watch cache once it has synced and from a GET before that; `use` and
`release` count how many pods refer to an object, and the watch stops with the last one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kubelite.client import ApiClient, Informer, NotFound

log = logging.getLogger(__name__)

Key = tuple[str, str, str]  # (plural, namespace, name)


class ObjectWatcher:
    def __init__(self, client: ApiClient, on_change: Callable[[Key], None]) -> None:
        self.client = client
        self.on_change = on_change
        self._informers: dict[Key, Informer] = {}
        self._users: dict[Key, set[str]] = {}

    def use(self, key: Key, pod_uid: str) -> None:
        self._users.setdefault(key, set()).add(pod_uid)
        if key in self._informers:
            return
        plural, namespace, name = key
        inf = Informer(self.client, plural, namespace, field_selector=f"metadata.name={name}",
                       raw=True)
        changed: Callable[..., None] = lambda *_: self.on_change(key)  # noqa: E731
        inf.on_add(changed)
        inf.on_update(changed)
        inf.on_delete(changed)
        inf.start()
        self._informers[key] = inf

    def users(self, key: Key) -> set[str]:
        return set(self._users.get(key, ()))

    async def release(self, pod_uid: str) -> None:
        for key in [k for k, uids in self._users.items() if pod_uid in uids]:
            self._users[key].discard(pod_uid)
            if not self._users[key]:
                del self._users[key]
                inf = self._informers.pop(key, None)
                if inf is not None:
                    await inf.stop()

    async def get(self, key: Key) -> dict[str, Any] | None:
        plural, namespace, name = key
        inf = self._informers.get(key)
        if inf is not None and inf.synced:
            obj: dict[str, Any] | None = inf.get(f"{namespace}/{name}")
            return obj
        try:
            fetched: dict[str, Any] = await self.client.get(plural, name, namespace, raw=True)
            return fetched
        except NotFound:
            return None

    async def stop(self) -> None:
        for inf in self._informers.values():
            await inf.stop()
        self._informers.clear()
        self._users.clear()
