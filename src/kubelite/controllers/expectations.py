"""ControllerExpectations: what a controller is still waiting to see in its watch.

After creating N pods a ReplicaSet controller must not count again until its informer has
seen those N pods appear, or a slow watch makes it create them twice. Creates are counted;
deletes are tracked by pod UID. Expectations expire (as in Kubernetes, after 5 minutes) so a
lost event never wedges a controller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Expected:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    stamp: float = field(default_factory=time.monotonic)


class Expectations:
    """Per-controller-key pending creations and deletions."""

    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.timeout = timeout
        self._by_key: dict[str, _Expected] = {}

    def expect_creations(self, key: str, count: int) -> None:
        self._by_key[key] = _Expected(adds=count)

    def expect_deletions(self, key: str, uids: set[str]) -> None:
        self._by_key[key] = _Expected(deletes=set(uids))

    def creation_observed(self, key: str) -> None:
        e = self._by_key.get(key)
        if e is not None and e.adds > 0:
            e.adds -= 1

    def creation_failed(self, key: str, count: int = 1) -> None:
        """A create we expected did not happen: stop waiting for it."""
        e = self._by_key.get(key)
        if e is not None:
            e.adds = max(0, e.adds - count)

    def deletion_observed(self, key: str, uid: str) -> None:
        e = self._by_key.get(key)
        if e is not None:
            e.deletes.discard(uid)

    def satisfied(self, key: str) -> bool:
        """True when nothing is pending for key (or what was pending is too old to wait for)."""
        e = self._by_key.get(key)
        if e is None:
            return True
        if (e.adds <= 0 and not e.deletes) or time.monotonic() - e.stamp > self.timeout:
            return True
        return False

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)
