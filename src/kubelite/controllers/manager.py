"""Starts the built-in controllers inside `kubelite server`, each talking through the HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kubelite.client import ApiClient
from kubelite.controllers.base import Controller
from kubelite.controllers.namespace import NamespaceController
from kubelite.scheduler.scheduler import Scheduler

log = logging.getLogger(__name__)

CONTROLLERS: tuple[type[Controller], ...] = (NamespaceController,)


class ControllerManager:
    """The controllers and (unless disabled) the scheduler, all clients of the HTTP API."""

    def __init__(
        self, client: ApiClient, enabled: tuple[type[Controller], ...] = CONTROLLERS,
        scheduler: bool = True,
    ) -> None:
        self.client = client
        self.controllers = [cls(client) for cls in enabled]
        self.scheduler: Scheduler | None = Scheduler(client) if scheduler else None  # type: ignore[arg-type]
        self._starting: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for c in self.controllers:
            self._starting.append(asyncio.create_task(c.start(), name=f"start-{c.name}"))
        if self.scheduler is not None:
            self._starting.append(asyncio.create_task(self.scheduler.start(), name="start-scheduler"))

    async def stop(self) -> None:
        for t in self._starting:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for c in self.controllers:
            await c.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.client.close()
