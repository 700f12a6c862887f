"""Writes pod statuses to the API server, batched, latest wins, retried.

Workers hand in a pod's whole status whenever they compute it; the manager writes only those
that changed since the last write, through `PATCH pods/NAME/status` (a merge patch of the whole
status, so lists are replaced), a bounded number at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from kubelite.client import ApiClient, NotFound

log = logging.getLogger(__name__)

BATCH_DELAY = 0.005
PARALLEL_WRITES = 16


class StatusManager:
    def __init__(self, client: ApiClient, on_written: Callable[[str, dict[str, Any]], None]
                 | None = None) -> None:
        self.client = client
        self.on_written = on_written
        self._desired: dict[str, tuple[str, str, dict[str, Any]]] = {}  # uid -> ns, name, status
        self._written: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sem = asyncio.Semaphore(PARALLEL_WRITES)
        self._idle = asyncio.Event()
        self._idle.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="status-manager")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def set(self, uid: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Queue a pod's status; a write is skipped when it equals the last one written."""
        self._desired[uid] = (namespace, name, status)
        if self._written.get(uid) != status:
            self._dirty.add(uid)
            self._idle.clear()
            self._wake.set()

    def get(self, uid: str) -> dict[str, Any] | None:
        entry = self._desired.get(uid)
        return entry[2] if entry else None

    def seed(self, uid: str, status: dict[str, Any]) -> None:
        """What the API server has already (after an agent restart): no need to rewrite it."""
        self._written.setdefault(uid, status)

    def forget(self, uid: str) -> None:
        self._desired.pop(uid, None)
        self._written.pop(uid, None)
        self._dirty.discard(uid)

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(BATCH_DELAY)
            batch, self._dirty = self._dirty, set()
            await asyncio.gather(*(self._write(uid) for uid in batch))
            if not self._dirty:
                self._idle.set()

    async def _write(self, uid: str) -> None:
        entry = self._desired.get(uid)
        if entry is None:
            return
        namespace, name, status = entry
        async with self._sem:
            try:
                await self.client.patch("pods", name, namespace, {"status": status},
                                        patch_type="merge", subresource="status", raw=True)
            except NotFound:
                self.forget(uid)
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - retried below
                log.warning("writing status of pod %s/%s failed: %s", namespace, name, e)
                await asyncio.sleep(0.5)
                if uid in self._desired:
                    self._dirty.add(uid)
                    self._wake.set()
                return
        self._written[uid] = status
        if self.on_written:
            self.on_written(uid, status)
