"""Several API server addresses and which one a client uses now: failover, as k3s' agent
load balancer (pkg/agent/loadbalancer) picks its backend.

The list is the `kubernetes` Endpoints' addresses (kubelet/api_servers.py keeps it) plus the
address the client was started with (`--server`), which is never dropped: it is the
fallback when every listed server has failed, and may itself be a load balancer or a DNS
name in front of the servers. A client stays on one server while it answers; a server it
cannot connect to (or that fails its health check) is marked failed and the next one, in
list order, becomes current. The list is in an order of each client's own (k3s shuffles its
servers too), so the agents of a server that dies spread over the others rather than all
moving to the same one. Failed servers come last until they answer again. Whoever
listens (`on_switch`) drops its connections to the old server: watches end and informers
re-list and re-watch on the new one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

FAILED_FOR = 15.0  # seconds a failed server goes to the back of the line (k3s' recovery wait)


class ServerPool:
    """The API server URLs a client may use, and the current one."""

    def __init__(self, default: str, clock: Callable[[], float] = time.monotonic,
                 rank: Callable[[str], Any] | None = None) -> None:
        """`rank` orders the listed servers (tests pass `str`); by default, an order of this
        client's own."""
        self.default = default.rstrip("/")
        self._seed = secrets.token_bytes(8)
        self._rank: Callable[[str], Any] = rank or self._random_rank
        self._servers: list[str] = [self.default]
        self._current = self.default
        self._failed: dict[str, float] = {}  # url -> when it failed
        self._clock = clock
        self._listeners: list[weakref.WeakMethod[Callable[[str, str], None]]] = []

    @property
    def current(self) -> str:
        return self._current

    @property
    def servers(self) -> list[str]:
        """Every known URL, the listed ones first, the default last."""
        return list(self._servers)

    def on_switch(self, callback: Callable[[str, str], None]) -> None:
        """Call `callback(old, new)` (a bound method, held weakly) when the current server changes."""
        self._listeners.append(weakref.WeakMethod(callback))  # type: ignore[arg-type]

    def set_servers(self, urls: Iterable[str]) -> None:
        """The servers now advertised (the `kubernetes` Endpoints); the default stays as fallback.
        The current server stays current while it is listed; one that left is switched away from."""
        listed = sorted({u.rstrip("/") for u in urls} - {self.default}, key=self._rank)
        servers = [*listed, self.default]
        if servers == self._servers:
            return
        log.info("API servers: %s", ", ".join(servers))
        self._servers = servers
        self._failed = {u: t for u, t in self._failed.items() if u in servers}
        if self._current not in servers:
            self._switch(self._next(self._current), "is no longer listed")

    def _random_rank(self, url: str) -> bytes:
        """Where `url` goes in this client's order: random per client, the same on every update."""
        return hashlib.sha256(self._seed + url.encode()).digest()

    def candidates(self) -> list[str]:
        """The order to try servers in: the current one, then the others not recently failed
        (list order after the current one), then the recently failed ones."""
        now = self._clock()
        order = self._rotated(self._current)
        healthy = [u for u in order if now - self._failed.get(u, -FAILED_FOR) >= FAILED_FOR]
        return [self._current, *[u for u in healthy if u != self._current],
                *[u for u in order if u not in healthy and u != self._current]]

    def failed(self, url: str, instead: str = "") -> str:
        """`url` did not answer: if it is the current server, switch to `instead` (one known to
        answer) or else the next candidate. Returns the server to use now."""
        url, instead = url.rstrip("/"), instead.rstrip("/")
        self._failed[url] = self._clock()
        if url == self._current and len(self._servers) > 1:
            self._switch(instead if instead in self._servers else self._next(url), "failed")
        return self._current

    def use(self, url: str) -> None:
        """Make the listed `url` current (one known to answer, before any request is made)."""
        url = url.rstrip("/")
        if url in self._servers:
            self._switch(url, "was not the one that answered")

    def succeeded(self, url: str) -> None:
        """`url` answered: it is no longer marked failed."""
        self._failed.pop(url.rstrip("/"), None)

    def _rotated(self, start: str) -> list[str]:
        """The servers in list order, beginning after `start` (or at the top if not listed)."""
        if start not in self._servers:
            return list(self._servers)
        i = self._servers.index(start) + 1
        return self._servers[i:] + self._servers[:i]

    def _next(self, after: str) -> str:
        now = self._clock()
        order = [u for u in self._rotated(after) if u != after] or [after]
        for url in order:
            if now - self._failed.get(url, -FAILED_FOR) >= FAILED_FOR:
                return url
        return min(order, key=lambda u: self._failed.get(u, 0.0))  # all failed: the oldest failure

    def _switch(self, new: str, why: str) -> None:
        old, self._current = self._current, new
        if old == new:
            return
        log.warning("API server %s %s; using %s", old, why, new)
        alive = []
        for ref in self._listeners:
            callback = ref()
            if callback is not None:
                alive.append(ref)
                callback(old, new)
        self._listeners = alive
