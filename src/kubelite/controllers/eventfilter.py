"""Client-side event spam filter, as client-go's EventSourceObjectSpamFilter.

A controller creating 3,000 pods for one ReplicaSet must not write 3,000 Events: each
involved object gets a token bucket of 25 events that refills one token every 5 minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

BURST = 25
REFILL_SECONDS = 300.0


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class EventSpamFilter:
    """`allow(key)` says whether one more event about `key` (an object's UID) may be sent."""

    def __init__(self, burst: int = BURST, refill_seconds: float = REFILL_SECONDS,
                 max_keys: int = 4096) -> None:
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._buckets.pop(next(iter(self._buckets)))
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) / self.refill_seconds)
        bucket.stamp = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True
