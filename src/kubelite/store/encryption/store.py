"""A store that encrypts the values of configured resources on the way in and decrypts them
on the way out, in front of any backend.

Every read and write of a value passes here exactly once (gets, lists, watch events and their
previous values, the value a conflict or a delete returns), so the backend holds only
ciphertext and everything above (the watch cache, the REST store) sees plain bytes.
The configuration can be swapped while serving (`reconfigure`), as key rotation does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from msgspec.structs import replace

from kubelite.store.encryption.config import EncryptionConfig
from kubelite.store.interface import Event, KeyValue, ListResult, RevisionConflictError, Store


class EncryptedStore:
    def __init__(self, inner: Store, config: EncryptionConfig) -> None:
        self.inner = inner
        self.config = config

    def reconfigure(self, config: EncryptionConfig) -> None:
        self.config = config

    def _out(self, kv: KeyValue) -> KeyValue:
        t = self.config.for_key(kv.key)
        return kv if t is None else replace(kv, value=t.from_storage(kv.value, kv.key))

    def _plain_under(self, prefix: str) -> bool:
        """True when every key under `prefix` is of one resource, stored as is (a LIST of
        pods then passes through untouched)."""
        return len(prefix.split("/", 4)) == 5 and self.config.for_key(prefix) is None

    def _in(self, key: str, value: bytes) -> bytes:
        t = self.config.for_key(key)
        return value if t is None else t.to_storage(value, key)

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    async def create(self, key: str, value: bytes) -> int:
        return await self.inner.create(key, self._in(key, value))

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        try:
            return await self.inner.update(key, self._in(key, value), expected_revision)
        except RevisionConflictError as e:
            if e.current is not None:
                e.current = self._out(e.current)
            raise

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        try:
            return self._out(await self.inner.delete(key, expected_revision))
        except RevisionConflictError as e:
            if e.current is not None:
                e.current = self._out(e.current)
            raise

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        kv = await self.inner.get(key, revision)
        return None if kv is None else self._out(kv)

    async def get_raw(self, key: str) -> KeyValue | None:
        """The value as the backend holds it (ciphertext), for re-encryption checks."""
        return await self.inner.get(key)

    async def list(self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = "") -> ListResult:
        result = await self.inner.list(prefix, revision, limit, start_after)
        if self._plain_under(prefix):
            return result
        return ListResult([self._out(kv) for kv in result.items], result.revision, result.more)

    async def list_raw(self, prefix: str) -> ListResult:
        return await self.inner.list(prefix)

    async def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        async for ev in self.inner.watch(prefix, from_revision):
            yield Event(ev.type, self._out(ev.kv), None if ev.prev is None else self._out(ev.prev), ev.revision)

    async def compact(self, revision: int) -> None:
        await self.inner.compact(revision)

    def __getattr__(self, name: str) -> object:  # backend extras (compacted_revision, ...)
        return getattr(self.inner, name)
