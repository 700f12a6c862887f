"""Leases on API server addresses, kept in the store (kube-apiserver's `/masterleases/`).

One key per address, `/kubelite/masterleases/<ip>`, holding its expiry time; every server of
a cluster shares the store, so each sees the others' leases. Expired leases are deleted by
whoever reads them (the store has no TTLs of its own).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable

from kubelite.store.interface import KeyExistsError, KeyNotFoundError, RevisionConflictError, Store

PREFIX = "/kubelite/masterleases/"


class StoreLeases:
    """The `controlplane.Leases` of API servers sharing `store`."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def renew(self, ip: str, ttl: float) -> None:
        value = json.dumps({"expires": self.clock() + ttl}).encode()
        kv = await self.store.get(PREFIX + ip)
        with contextlib.suppress(KeyExistsError, RevisionConflictError, KeyNotFoundError):
            if kv is None:
                await self.store.create(PREFIX + ip, value)
            else:
                await self.store.update(PREFIX + ip, value, kv.mod_revision)

    async def current(self) -> list[str]:
        now, live = self.clock(), []
        for kv in (await self.store.list(PREFIX)).items:
            try:
                expires = float(json.loads(kv.value)["expires"])
            except (ValueError, KeyError, TypeError):
                expires = 0.0
            if expires > now:
                live.append(kv.key[len(PREFIX):])
            else:
                with contextlib.suppress(KeyNotFoundError, RevisionConflictError):
                    await self.store.delete(kv.key, kv.mod_revision)
        return sorted(live)

    async def remove(self, ip: str) -> None:
        with contextlib.suppress(KeyNotFoundError):
            await self.store.delete(PREFIX + ip)
