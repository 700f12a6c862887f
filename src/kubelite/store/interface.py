"""The one store interface: keys, bytes and revisions.

Both backends (SQLite, etcd) implement `Store` and pass the same test suite
(tests/unit/store/test_conformance.py). Revisions are cluster-wide, strictly
increasing integers; the API server uses them as resourceVersion.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

import msgspec


class StoreError(Exception):
    """Base of every store failure."""


class KeyExistsError(StoreError):
    """create() of a key that is already present."""


class KeyNotFoundError(StoreError):
    """update() or delete() of a key that is absent."""


class RevisionConflictError(StoreError):
    """The key's current mod_revision differs from the expected one."""

    def __init__(self, key: str, current: KeyValue | None) -> None:
        super().__init__(f"revision conflict on {key}")
        self.current = current


class CompactedError(StoreError):
    """The revision asked for has been compacted away (the API answers 410 Gone)."""

    def __init__(self, requested: int, compacted: int) -> None:
        super().__init__(f"revision {requested} is compacted (oldest kept is {compacted})")
        self.requested = requested
        self.compacted = compacted


class UnavailableError(StoreError):
    """The backend cannot be reached or answered with an error."""


class FutureRevisionError(StoreError):
    """A read or compaction asked for a revision the store has not reached yet."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"revision {requested} is in the future (current is {current})")
        self.requested = requested
        self.current = current


class WatchOverflowError(StoreError):
    """A watcher fell too far behind and was dropped; watch again from the last revision seen."""


# msgspec Structs, not dataclasses: a LIST of 100,000 pods builds 100,000 of them, ten times
# faster so; holding only strings, bytes and ints (or KeyValues), they cannot form cycles, so
# the garbage collector need not track them (gc=False).
class KeyValue(msgspec.Struct, frozen=True, gc=False):
    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class Event(msgspec.Struct, frozen=True, gc=False):
    """One change, in revision order. For DELETE, `kv.value` is the last value."""

    type: Literal["PUT", "DELETE"]
    kv: KeyValue
    prev: KeyValue | None
    revision: int


class ListResult(msgspec.Struct, frozen=True):
    items: list[KeyValue]
    revision: int  # the store revision the list reflects
    more: bool  # True when `limit` cut the list short


class Store(Protocol):
    """Key-value store with revisions, optimistic concurrency and watch."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def current_revision(self) -> int: ...

    async def create(self, key: str, value: bytes) -> int:
        """Store a new key; returns its revision. Raises KeyExistsError."""
        ...

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        """Replace a key if its mod_revision is `expected_revision` (0: any).

        Returns the new revision. Raises KeyNotFoundError, RevisionConflictError.
        """
        ...

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        """Remove a key (if its mod_revision matches, when given); returns the deleted value
        with the deletion's revision as mod_revision. Raises KeyNotFoundError, RevisionConflictError."""
        ...

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        """The key at `revision` (0: latest). Raises CompactedError for a compacted revision."""
        ...

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        """Keys under `prefix` in key order, as of `revision` (0: latest), at most `limit`
        (0: all), strictly after `start_after`. Raises CompactedError."""
        ...

    def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        """Every change under `prefix` with revision > `from_revision`, in order, then live.

        Raises CompactedError (on first iteration) if from_revision is compacted.
        """
        ...

    async def compact(self, revision: int) -> None:
        """Forget history at and before `revision` (latest values are always kept)."""
        ...
