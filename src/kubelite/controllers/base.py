"""What every controller shares: informers feed a work queue; workers reconcile one key at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kubelite.client import ApiClient, Informer, QueueShutDown, WorkQueue

log = logging.getLogger(__name__)


class Controller:
    """Subclasses set `name`, create informers in `setup`, and implement `reconcile(key)`.

    `reconcile` is idempotent: given a key, make the world match. Raising requeues the key
    with exponential backoff; returning a number of seconds requeues it after that delay.
    """

    name = "controller"
    workers = 1

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        # A SharedInformers (controllers/shared.py) to take informers from, or None to make
        # and own them; the manager sets it with `share` before `prepare`.
        self.shared: Any = None
        self._prepared = False
        self.queue: WorkQueue[str] = WorkQueue(base_delay=0.05, max_delay=30.0)
        self.informers: list[Informer] = []
        self._tasks: list[asyncio.Task[Any]] = []

    def setup(self) -> None:
        """Create informers and register handlers that enqueue keys."""

    async def reconcile(self, key: str) -> float | None:
        raise NotImplementedError

    def share(self, shared: Any) -> None:
        """Take informers from `shared` (a SharedInformers): one watch per kind per process."""
        self.shared = shared

    def prepare(self) -> None:
        """Register informers and handlers once. The manager prepares every controller sharing
        informers before starting any, so no handler misses the first list."""
        if not self._prepared:
            self._prepared = True
            self.setup()

    def informer(self, kind: str, **kw: Any) -> Informer:
        if self.shared is None:
            inf = Informer(self.client, kind, **kw)
        else:  # shared informers are always raw (JSON dicts), which is what controllers use
            kw.pop("raw", None)
            inf = self.shared.informer(kind, **kw)
        if inf not in self.informers:
            self.informers.append(inf)
        return inf

    async def start(self) -> None:
        self.prepare()
        for inf in self.informers:
            self._tasks.append(inf.start())
        for inf in self.informers:
            await inf.has_synced()
        for i in range(self.workers):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}"))

    async def stop(self) -> None:
        self.queue.shutdown()
        for inf in self.informers:
            await inf.stop()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            try:
                again = await self.reconcile(key)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - a failed key is retried with backoff
                log.warning("%s: reconciling %s failed: %s", self.name, key, e)
                self.queue.add_rate_limited(key)
            else:
                self.queue.forget(key)
                if again:
                    self.queue.add_after(key, again)
            finally:
                self.queue.done(key)
