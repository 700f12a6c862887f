"""Bounded, retrying API writes: thousands of nodes share one connection pool politely."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp

from kubelite.client import ServerError, TooManyRequests

T = TypeVar("T")

RETRYABLE: tuple[type[BaseException], ...] = (
    TooManyRequests, ServerError, aiohttp.ClientError, OSError, TimeoutError,
)


class Writer:
    """At most `concurrency` requests in flight; throttling, 5xx and network errors retried
    with jittered exponential backoff, other API errors (NotFound, Conflict...) raised at once."""

    def __init__(self, concurrency: int = 64, attempts: int = 6, base_delay: float = 0.1,
                 max_delay: float = 5.0) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.requests = 0
        self.retries = 0

    async def call(self, request: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            async with self._slots:
                self.requests += 1
                try:
                    return await request()
                except RETRYABLE:
                    if attempt + 1 >= self.attempts:
                        raise
            self.retries += 1
            delay = min(self.max_delay, self.base_delay * (2 ** attempt))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            attempt += 1
