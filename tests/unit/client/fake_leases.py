"""A fake clock and a fake API of Leases (resourceVersions as the API server keeps them) for
leader election tests."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from typing import Any

from kubelite.client.errors import AlreadyExists, Conflict, NotFound, ServerError

START = dt.datetime(2026, 12, 7, 1, 0, 0, tzinfo=dt.UTC)


class FakeClock:
    """Time moves only when the test says: sleepers wake in deadline order."""

    def __init__(self) -> None:
        self.t = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> dt.datetime:
        return START + dt.timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        fut = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.t + max(seconds, 0.0), fut))
        await fut

    async def advance(self, seconds: float) -> None:
        target = self.t + seconds
        await settle()
        while True:
            due = [s for s in self._sleepers if s[0] <= target and not s[1].done()]
            if not due:
                break
            when, fut = min(due, key=lambda s: s[0])
            self.t = max(self.t, when)
            fut.set_result(None)
            self._sleepers.remove((when, fut))
            await settle()
        self.t = target
        self._sleepers = [s for s in self._sleepers if not s[1].done()]
        await settle()


async def settle() -> None:
    for _ in range(30):
        await asyncio.sleep(0)


class LeaseStore:
    """Leases by name with resourceVersions: a stale update is a 409, as on the API server."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.revision = 0
        self.updates = 0

    def client(self) -> FakeLeaseClient:
        return FakeLeaseClient(self)


class FakeLeaseClient:
    """One candidate's view of the store: it can be cut off (`down`) or left hanging (`hang`)."""

    def __init__(self, store: LeaseStore) -> None:
        self.store = store
        self.down = False
        self.hang = False
        self.calls: list[str] = []

    async def _call(self, verb: str) -> None:
        self.calls.append(verb)
        await asyncio.sleep(0)  # let racing candidates interleave
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise ServerError({"code": 503, "message": "unavailable"})

    async def get(self, kind: Any, name: str, namespace: str | None = None, *, raw: bool = True) -> Any:
        await self._call("get")
        if name not in self.store.leases:
            raise NotFound({"code": 404, "reason": "NotFound"})
        return copy.deepcopy(self.store.leases[name])

    async def create(self, kind: Any, obj: Any, namespace: str | None = None, *, raw: bool = True) -> Any:
        await self._call("create")
        name = obj["metadata"]["name"]
        if name in self.store.leases:
            raise AlreadyExists({"code": 409, "reason": "AlreadyExists"})
        self.store.revision += 1
        lease = copy.deepcopy(obj)
        lease["metadata"].update(resourceVersion=str(self.store.revision), uid=f"uid-{name}")
        self.store.leases[name] = lease
        return copy.deepcopy(lease)

    async def update(self, kind: Any, obj: Any, *, raw: bool = True) -> Any:
        await self._call("update")
        name = obj["metadata"]["name"]
        current = self.store.leases.get(name)
        if current is None:
            raise NotFound({"code": 404, "reason": "NotFound"})
        if obj["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise Conflict({"code": 409, "reason": "Conflict"})
        self.store.revision += 1
        lease = copy.deepcopy(obj)
        lease["metadata"]["resourceVersion"] = str(self.store.revision)
        self.store.leases[name] = lease
        self.store.updates += 1
        return copy.deepcopy(lease)
