"""An in-memory stand-in for ApiClient (raw dicts only) recording every write, for sim tests."""

from __future__ import annotations

import asyncio
import copy
import datetime
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from kubelite.client import AlreadyExists, Conflict, ListResult, NotFound, ServerError, resolve_kind

Obj = dict[str, Any]


def _merge(base: Any, patch: Any) -> Any:
    """RFC 7386 merge patch (lists replaced, None deletes)."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    out = dict(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


class FakeClient:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.rv = 0
        self.writes: list[tuple[str, str, str, Any]] = []  # verb, plural, name, body/options
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay = 0.0  # seconds each write takes
        self.fail_next: dict[str, int] = {}  # verb -> how many ServerErrors to answer first
        self.drop_status_on_create = False
        self._watchers: list[tuple[str, asyncio.Queue[tuple[str, Obj]]]] = []

    # -- helpers for tests ------------------------------------------------------------------

    def get_obj(self, plural: str, name: str, namespace: str = "") -> Obj | None:
        return self.objects.get((plural, namespace, name))

    def count(self, verb: str, plural: str, name: str | None = None) -> int:
        return sum(1 for v, p, n, _ in self.writes if v == verb and p == plural
                   and (name is None or n == name))

    async def put_direct(self, plural: str, obj: Obj) -> Obj:
        """Store an object as another component would (events go to watchers)."""
        meta = obj.setdefault("metadata", {})
        key = (plural, meta.get("namespace", ""), meta["name"])
        etype = "MODIFIED" if key in self.objects else "ADDED"
        meta.setdefault("uid", str(uuid.uuid4()))
        return self._store(plural, key, obj, etype)

    def _store(self, plural: str, key: tuple[str, str, str], obj: Obj, etype: str) -> Obj:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if etype == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj
        for watched, queue in self._watchers:
            if watched == plural:
                queue.put_nowait((etype, copy.deepcopy(obj)))
        return copy.deepcopy(obj)

    async def _write(self, verb: str, plural: str, name: str, body: Any) -> None:
        self.writes.append((verb, plural, name, copy.deepcopy(body)))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if self.fail_next.get(verb, 0) > 0:
            self.fail_next[verb] -= 1
            raise ServerError({"code": 500, "reason": "InternalError", "message": "injected"})

    @staticmethod
    def _ns(plural: str, namespace: str | None) -> str:
        return (namespace or "") if resolve_kind(plural).namespaced else ""

    # -- the ApiClient surface the sim uses -------------------------------------------------

    async def create(self, kind: str, obj: Obj, namespace: str | None = None, *,
                     raw: bool = False, field_manager: str | None = None) -> Obj:
        plural = resolve_kind(kind).plural
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        ns = self._ns(plural, namespace or meta.get("namespace") or "default")
        await self._write("create", plural, meta["name"], obj)
        key = (plural, ns, meta["name"])
        if key in self.objects:
            raise AlreadyExists({"code": 409, "reason": "AlreadyExists",
                                 "message": f'{plural} "{meta["name"]}" already exists'})
        if ns:
            meta["namespace"] = ns
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = datetime.datetime.now(datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        if self.drop_status_on_create:
            obj.pop("status", None)
        return self._store(plural, key, obj, "ADDED")

    async def get(self, kind: str, name: str, namespace: str | None = None, *,
                  raw: bool = False) -> Obj:
        plural = resolve_kind(kind).plural
        obj = self.objects.get((plural, self._ns(plural, namespace), name))
        if obj is None:
            raise NotFound({"code": 404, "reason": "NotFound",
                            "message": f'{plural} "{name}" not found'})
        return copy.deepcopy(obj)

    async def update(self, kind: str, obj: Obj, *, raw: bool = False,
                     subresource: str | None = None) -> Obj:
        plural = resolve_kind(kind).plural
        meta = obj["metadata"]
        await self._write("update", plural, meta["name"], obj)
        current = await self.get(plural, meta["name"], meta.get("namespace"))
        if meta.get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise Conflict({"code": 409, "reason": "Conflict", "message": "stale"})
        key = (plural, self._ns(plural, meta.get("namespace")), meta["name"])
        return self._store(plural, key, copy.deepcopy(obj), "MODIFIED")

    async def patch(self, kind: str, name: str, namespace: str | None, body: Any, *,
                    patch_type: str = "merge", subresource: str | None = None,
                    field_manager: str | None = None, force: bool | None = None,
                    raw: bool = False) -> Obj:
        plural = resolve_kind(kind).plural
        verb = f"patch/{subresource}" if subresource else "patch"
        await self._write(verb, plural, name, body)
        current = await self.get(plural, name, namespace)
        key = (plural, self._ns(plural, namespace), name)
        return self._store(plural, key, _merge(current, body), "MODIFIED")

    async def delete(self, kind: str, name: str, namespace: str | None = None, *,
                     grace_period: int | None = None, propagation_policy: str | None = None,
                     preconditions: Mapping[str, str] | None = None) -> Any:
        plural = resolve_kind(kind).plural
        await self._write("delete", plural, name,
                          {"gracePeriodSeconds": grace_period,
                           "preconditions": dict(preconditions or {})})
        current = await self.get(plural, name, namespace)
        if preconditions and preconditions.get("uid") not in (None, current["metadata"]["uid"]):
            raise Conflict({"code": 409, "reason": "Conflict", "message": "uid precondition"})
        key = (plural, self._ns(plural, namespace), name)
        return self._store(plural, key, current, "DELETED")

    def _matches(self, plural: str, obj: Obj, field_selector: str | None) -> bool:
        if field_selector == "spec.nodeName!=":
            return bool((obj.get("spec") or {}).get("nodeName"))
        return True

    async def list(self, kind: str, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   resource_version: str | None = None, limit: int | None = None,
                   raw: bool = False) -> ListResult:
        plural = resolve_kind(kind).plural
        items = [copy.deepcopy(o) for (p, _, _), o in self.objects.items()
                 if p == plural and self._matches(plural, o, field_selector)]
        return ListResult(items, str(self.rv))

    async def watch(self, kind: str, namespace: str | None = None, *,
                    resource_version: str | None = None, label_selector: str | None = None,
                    field_selector: str | None = None, allow_bookmarks: bool = True,
                    timeout: int | None = None, raw: bool = False,
                    ) -> AsyncIterator[tuple[str, Obj]]:
        plural = resolve_kind(kind).plural
        queue: asyncio.Queue[tuple[str, Obj]] = asyncio.Queue()
        entry = (plural, queue)
        self._watchers.append(entry)
        try:
            while True:
                etype, obj = await queue.get()
                if self._matches(plural, obj, field_selector):
                    yield etype, obj
        finally:
            self._watchers.remove(entry)
