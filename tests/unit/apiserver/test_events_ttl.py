"""Events older than the TTL are deleted by the reaper; fresh ones stay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kubelite.api.registry import by_resource
from kubelite.apiserver.events import EventReaper
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.store.sqlite import SqliteStore

EVENTS = by_resource("", "v1", "events")
NAMESPACES = by_resource("", "v1", "namespaces")


def event(name: str, last: dt.datetime) -> dict:
    ts = last.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default", "uid": "u1"},
        "reason": "Scheduled", "message": "m", "type": "Normal",
        "firstTimestamp": ts, "lastTimestamp": ts, "count": 1,
    }


async def test_reaper_deletes_only_expired_events(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    await store.start()
    try:
        objects = ObjectStore(store)
        await objects.create(NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}, WriteOptions())
        now = dt.datetime.now(dt.UTC)
        await objects.create(EVENTS, "default", event("old", now - dt.timedelta(hours=2)), WriteOptions())
        await objects.create(EVENTS, "default", event("new", now), WriteOptions())
        removed = await EventReaper(objects, ttl=3600).sweep()
        assert removed == 1
        names = [i for i in (await objects.list(EVENTS, "default")).items]
        assert len(names) == 1 and b'"name":"new"' in names[0]
    finally:
        await store.close()
