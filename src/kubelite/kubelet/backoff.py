"""Back-off for restarting crashed containers and for retrying image pulls.

Kubernetes' `flowcontrol.Backoff`: the first retry happens at once; each later one waits twice
as long as the one before (10 s, 20 s, 40 s ... 5 min). An entry untouched for twice the maximum
(10 minutes) is forgotten, so a container that ran 10 minutes before crashing starts again at 10 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

CRASH_BACKOFF_INITIAL = 10.0
CRASH_BACKOFF_MAX = 300.0


@dataclass
class _Entry:
    delay: float
    last_update: float


class Backoff:
    """Per-key exponential back-off, as the kubelet keeps per container and per image."""

    def __init__(self, initial: float = CRASH_BACKOFF_INITIAL, maximum: float = CRASH_BACKOFF_MAX,
                 clock: Callable[[], float] = time.time) -> None:
        self.initial = initial
        self.maximum = maximum
        self.clock = clock
        self._entries: dict[Hashable, _Entry] = {}

    def _expired(self, entry: _Entry, now: float) -> bool:
        return now - entry.last_update > 2 * self.maximum

    def delay(self, key: Hashable) -> float:
        """The current delay for key (0 when it has none)."""
        entry = self._entries.get(key)
        return entry.delay if entry else 0.0

    def remaining(self, key: Hashable, since: float) -> float:
        """Seconds still to wait after an event at `since` (0: go ahead)."""
        entry = self._entries.get(key)
        now = self.clock()
        if entry is None or self._expired(entry, now):
            return 0.0
        return max(0.0, entry.delay - (now - since))

    def next(self, key: Hashable) -> float:
        """Record one more retry now and return the delay the retry after it will wait."""
        now = self.clock()
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, now):
            entry = _Entry(self.initial, now)
        else:
            entry = _Entry(min(entry.delay * 2, self.maximum), now)
        self._entries[key] = entry
        return entry.delay

    def reset(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def forget_prefix(self, prefix: str) -> None:
        """Drop every entry whose key is a tuple starting with `prefix` (a pod uid)."""
        for key in [k for k in self._entries if isinstance(k, tuple) and k and k[0] == prefix]:
            del self._entries[key]


def go_duration(seconds: float) -> str:
    """Go's time.Duration String() for whole seconds: 10s, 1m20s, 5m0s (as back-off messages
    show a delay)."""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s}s"
    h, m = divmod(m, 60)
    return f"{h}h{m}m{s}s"
