"""Run an action for every node once per interval, spread evenly over the interval.

5,000 nodes renewing a lease every 10 s is one renewal every 2 ms, not 5,000 at once. A node
whose previous action is still in flight is skipped for that round rather than piled up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

MIN_SLEEP = 0.005  # below this, nodes due together are handled in one batch


class SpreadTicker:
    def __init__(self, name: str, interval: float, names: Callable[[], list[str]],
                 action: Callable[[str], Awaitable[None]]) -> None:
        self.name = name
        self.interval = interval
        self._names = names
        self._action = action
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"sim-{self.name}")

    async def stop(self) -> None:
        tasks = list(self._in_flight.values())
        if self._task is not None:
            tasks.append(self._task)
            self._task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._in_flight.clear()

    def kick(self, name: str) -> None:
        """Run the action for one node now (e.g. when it resumes), unless it is in flight."""
        if name not in self._in_flight:
            task = asyncio.create_task(self._guarded(name))
            self._in_flight[name] = task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            names = self._names()
            for i, name in enumerate(names):
                delay = start + self.interval * i / len(names) - loop.time()
                if delay > MIN_SLEEP:
                    await asyncio.sleep(delay)
                self.kick(name)
            await asyncio.sleep(max(MIN_SLEEP, start + self.interval - loop.time()))

    async def _guarded(self, name: str) -> None:
        try:
            await self._action(name)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # one node's failure must not stop the others
            log.warning("%s for node %s failed: %s", self.name, name, e)
        finally:
            self._in_flight.pop(name, None)
