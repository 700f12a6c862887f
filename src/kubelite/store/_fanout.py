"""In-process watch fan-out: one broadcaster, one bounded queue per watcher.

The SQLite writer hands each committed batch of events to `Fanout.publish` (on the event
loop), which appends the events to the queue of every watcher whose prefix they fall under.
Watchers are grouped by prefix, so an event costs one prefix test per distinct prefix plus
one append per interested watcher: a thousand watchers of `/registry/pods/` cost a thousand
appends and one `startswith`.

A watcher that lets more than `limit` events pile up is dropped: it still receives what was
queued, then `WatchOverflowError`, and its client watches again from the last revision seen.
"""

from __future__ import annotations

import asyncio
from collections import deque

from .interface import Event, StoreError, WatchOverflowError


class Subscription:
    """One watcher's queue of live events."""

    __slots__ = ("prefix", "_fanout", "_limit", "_events", "_waiter", "_error")

    def __init__(self, fanout: Fanout, prefix: str, limit: int) -> None:
        self.prefix = prefix
        self._fanout = fanout
        self._limit = limit
        self._events: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: StoreError | None = None

    def push(self, events: list[Event]) -> None:
        if self._error is not None:
            return
        if len(self._events) + len(events) > self._limit:
            self.terminate(
                WatchOverflowError(
                    f"watcher of {self.prefix!r} fell more than {self._limit} events behind"
                )
            )
            return
        self._events.extend(events)
        self._wake()

    def terminate(self, error: StoreError) -> None:
        """Stop receiving; the consumer gets what is queued, then `error`."""
        if self._error is None:
            self._error = error
            self._fanout.unsubscribe(self)
            self._wake()

    async def get(self) -> list[Event]:
        """The events queued so far (at least one); raises once terminated and drained."""
        while not self._events:
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        batch = list(self._events)
        self._events.clear()
        return batch

    def close(self) -> None:
        self._fanout.unsubscribe(self)
        self._events.clear()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class Fanout:
    """Delivers committed events to subscriptions; all methods run on the event loop."""

    def __init__(self, limit: int, revision: int = 0) -> None:
        self._limit = limit
        self._by_prefix: dict[str, set[Subscription]] = {}
        # Every event up to `revision` has been published; later ones reach new subscribers.
        self.revision = revision

    def subscribe(self, prefix: str) -> Subscription:
        sub = Subscription(self, prefix, self._limit)
        self._by_prefix.setdefault(prefix, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._by_prefix.get(sub.prefix)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_prefix[sub.prefix]

    def publish(self, events: list[Event]) -> None:
        """Hand out one committed batch (in revision order)."""
        if not events:
            return
        for prefix, subs in list(self._by_prefix.items()):
            matching = events if not prefix else [e for e in events if e.kv.key.startswith(prefix)]
            if matching:
                for sub in list(subs):
                    sub.push(matching)
        self.revision = events[-1].revision

    def close(self, error: StoreError) -> None:
        for subs in list(self._by_prefix.values()):
            for sub in list(subs):
                sub.terminate(error)

    def __len__(self) -> int:
        return sum(len(subs) for subs in self._by_prefix.values())
