"""Events live one hour by default: a reaper deletes the expired ones so they never bloat the store."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.rest import ObjectStore, WriteOptions

log = logging.getLogger(__name__)
EVENTS = by_resource("", "v1", "events")


def _parse(ts: str | None) -> dt.datetime | None:
    if not ts:
        return None
    try:
        return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


class EventReaper:
    """Deletes events whose last activity is older than the TTL, on a schedule."""

    def __init__(self, store: ObjectStore, ttl: float, interval: float | None = None) -> None:
        self.store = store
        self.ttl = ttl
        self.interval = interval if interval is not None else min(60.0, max(ttl / 4, 1.0))
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-reaper")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("event sweep failed")

    async def sweep(self) -> int:
        """Delete expired events; returns how many went."""
        assert EVENTS is not None
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.ttl)
        page = await self.store.list(EVENTS, None)
        removed = 0
        for data in page.items:
            ev = objects.decode(data)
            meta = ev.get("metadata", {})
            last = (
                _parse(ev.get("lastTimestamp"))
                or _parse(ev.get("eventTime"))
                or _parse(meta.get("creationTimestamp"))
            )
            if last is not None and last < cutoff:
                with contextlib.suppress(st.NotFound, st.Conflict):
                    await self.store.delete(EVENTS, meta.get("namespace"), meta["name"], {}, WriteOptions())
                    removed += 1
        return removed
