"""The Store contract: every test here runs on SQLite and on a real etcd (fixture `store`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubelite.store.interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionConflictError,
    Store,
)


async def take(events: AsyncIterator[Event], n: int, timeout: float = 10.0) -> list[Event]:
    """The next `n` events of a watch (fails after `timeout` seconds)."""
    got: list[Event] = []
    async with asyncio.timeout(timeout):
        while len(got) < n:
            got.append(await anext(events))
    return got


def shape(event: Event) -> tuple[str, str, bytes, int]:
    return (event.type, event.kv.key, event.kv.value, event.revision)


# -- writes and optimistic concurrency -------------------------------------------------------


async def test_create_then_get_returns_the_value_at_its_revision(store: Store) -> None:
    before = await store.current_revision()
    rev = await store.create("/k/a", b"one")
    assert rev > before
    assert await store.current_revision() == rev
    assert await store.get("/k/a") == KeyValue("/k/a", b"one", rev, rev)
    assert await store.get("/k/missing") is None


async def test_create_of_an_existing_key_raises_key_exists(store: Store) -> None:
    rev = await store.create("/k/a", b"one")
    with pytest.raises(KeyExistsError):
        await store.create("/k/a", b"two")
    assert await store.get("/k/a") == KeyValue("/k/a", b"one", rev, rev)


async def test_revisions_strictly_increase_across_keys(store: Store) -> None:
    revs = [await store.create(f"/k/{i}", b"x") for i in range(5)]
    revs.append(await store.update("/k/0", b"y", 0))
    revs.append((await store.delete("/k/1")).mod_revision)
    assert revs == sorted(set(revs))
    assert await store.current_revision() == revs[-1]


async def test_update_checks_the_expected_revision(store: Store) -> None:
    created = await store.create("/k/a", b"one")
    updated = await store.update("/k/a", b"two", created)
    assert await store.get("/k/a") == KeyValue("/k/a", b"two", created, updated)
    with pytest.raises(RevisionConflictError) as conflict:
        await store.update("/k/a", b"three", created)
    assert conflict.value.current == KeyValue("/k/a", b"two", created, updated)
    unconditional = await store.update("/k/a", b"four", 0)
    assert await store.get("/k/a") == KeyValue("/k/a", b"four", created, unconditional)


async def test_update_and_delete_of_an_absent_key_raise_not_found(store: Store) -> None:
    for attempt in (
        store.update("/k/none", b"x", 0),
        store.update("/k/none", b"x", 5),
        store.delete("/k/none"),
        store.delete("/k/none", 5),
    ):
        with pytest.raises(KeyNotFoundError):
            await attempt
    rev = await store.create("/k/gone", b"x")
    await store.delete("/k/gone", rev)
    with pytest.raises(KeyNotFoundError):
        await store.update("/k/gone", b"y", rev)


async def test_racing_updates_with_the_same_expected_revision_exactly_one_wins(store: Store) -> None:
    rev = await store.create("/k/race", b"start")
    results = await asyncio.gather(
        *(store.update("/k/race", f"v{i}".encode(), rev) for i in range(16)),
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, int)]
    conflicts = [r for r in results if isinstance(r, RevisionConflictError)]
    assert len(wins) == 1 and len(conflicts) == 15
    winner = await store.get("/k/race")
    assert winner is not None and winner.mod_revision == wins[0]
    assert all(c.current == winner for c in conflicts)


async def test_racing_creates_of_one_key_exactly_one_wins(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create("/k/new", f"v{i}".encode()) for i in range(16)), return_exceptions=True
    )
    assert sum(isinstance(r, int) for r in results) == 1
    assert sum(isinstance(r, KeyExistsError) for r in results) == 15


async def test_delete_honours_the_expected_revision(store: Store) -> None:
    created = await store.create("/k/a", b"one")
    updated = await store.update("/k/a", b"two", created)
    with pytest.raises(RevisionConflictError) as conflict:
        await store.delete("/k/a", created)
    assert conflict.value.current == KeyValue("/k/a", b"two", created, updated)
    gone = await store.delete("/k/a", updated)
    assert gone.mod_revision > updated
    assert gone == KeyValue("/k/a", b"two", created, gone.mod_revision)
    assert await store.current_revision() == gone.mod_revision
    assert await store.get("/k/a") is None
    again = await store.create("/k/a", b"new life")
    assert await store.get("/k/a") == KeyValue("/k/a", b"new life", again, again)


# -- reads at a revision ---------------------------------------------------------------------


async def test_get_at_an_old_revision_sees_the_value_then(store: Store) -> None:
    r1 = await store.create("/k/a", b"one")
    r2 = await store.update("/k/a", b"two", r1)
    r3 = (await store.delete("/k/a")).mod_revision
    assert await store.get("/k/a", r1) == KeyValue("/k/a", b"one", r1, r1)
    assert await store.get("/k/a", r2) == KeyValue("/k/a", b"two", r1, r2)
    assert await store.get("/k/a", r3) is None
    assert await store.get("/k/a") is None


async def test_list_at_an_old_revision_is_a_snapshot(store: Store) -> None:
    a = await store.create("/l/a", b"a1")
    b = await store.create("/l/b", b"b1")
    await store.create("/lx", b"not under /l/")
    snapshot = b
    a2 = await store.update("/l/a", b"a2", a)
    await store.delete("/l/b")
    c = await store.create("/l/c", b"c1")

    old = await store.list("/l/", revision=snapshot)
    assert old.items == [KeyValue("/l/a", b"a1", a, a), KeyValue("/l/b", b"b1", b, b)]
    assert (old.revision, old.more) == (snapshot, False)

    now = await store.list("/l/")
    assert now.items == [KeyValue("/l/a", b"a2", a, a2), KeyValue("/l/c", b"c1", c, c)]
    assert now.revision == await store.current_revision()


async def test_list_covers_exactly_the_prefix_in_key_order(store: Store) -> None:
    keys = ["/p/b", "/p/a/x", "/p/a", "/pa", "/p", "/q/a", "/p/\u00e9t\u00e9", "/p/Z", "/p/~"]
    for key in keys:
        await store.create(key, key.encode())
    listed = [kv.key for kv in (await store.list("/p/")).items]
    assert listed == sorted(k for k in keys if k.startswith("/p/"))
    assert [kv.key for kv in (await store.list("/p")).items] == sorted(
        k for k in keys if k.startswith("/p")
    )
    assert (await store.list("/nothing/")).items == []


async def test_paging_with_limit_and_start_after_is_consistent(store: Store) -> None:
    names = [f"/page/{i:02d}" for i in range(25)]
    for name in names:
        await store.create(name, name.encode())
    snapshot = await store.current_revision()
    seen: list[str] = []
    mores: list[bool] = []
    after = ""
    while True:
        page = await store.list("/page/", revision=snapshot, limit=10, start_after=after)
        assert page.revision == snapshot
        seen += [kv.key for kv in page.items]
        mores.append(page.more)
        # Writes between pages must not show in a list at the snapshot.
        await store.create(f"/page/{len(seen):02d}-new", b"late")
        await store.delete(names[len(seen) - 1])
        if not page.more:
            break
        after = page.items[-1].key
    assert seen == names
    assert mores == [True, True, False]
    whole = await store.list("/page/", revision=snapshot, limit=25)
    assert [kv.key for kv in whole.items] == names and not whole.more
    tail = await store.list("/page/", revision=snapshot, start_after="/page/22")
    assert [kv.key for kv in tail.items] == names[23:]


async def test_reads_below_the_compacted_revision_raise_compacted(store: Store) -> None:
    r1 = await store.create("/c/a", b"one")
    r2 = await store.update("/c/a", b"two", r1)
    r3 = await store.update("/c/a", b"three", r2)
    await store.compact(r2)
    with pytest.raises(CompactedError) as compacted:
        await store.get("/c/a", r1)
    assert (compacted.value.requested, compacted.value.compacted) == (r1, r2)
    with pytest.raises(CompactedError):
        await store.list("/c/", revision=r1)
    assert await store.get("/c/a", r2) == KeyValue("/c/a", b"two", r1, r2)
    assert (await store.list("/c/", revision=r2)).items == [KeyValue("/c/a", b"two", r1, r2)]
    assert await store.get("/c/a") == KeyValue("/c/a", b"three", r1, r3)
    await store.compact(r2)  # again, and below: nothing to do
    await store.compact(r1)


async def test_reads_at_a_future_revision_raise(store: Store) -> None:
    rev = await store.create("/f/a", b"x")
    with pytest.raises(FutureRevisionError):
        await store.get("/f/a", rev + 100)
    with pytest.raises(FutureRevisionError):
        await store.list("/f/", revision=rev + 100)


# -- watch -----------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["replayed", "live"])
async def test_watch_events_carry_values_and_previous_values(store: Store, when: str) -> None:
    start = await store.current_revision()
    watch = store.watch("/w/", start)
    pending = asyncio.ensure_future(take(watch, 3)) if when == "live" else None
    if pending:
        await asyncio.sleep(0.2)  # let the watch reach the live phase
    r1 = await store.create("/w/a", b"one")
    r2 = await store.update("/w/a", b"two", r1)
    r3 = (await store.delete("/w/a")).mod_revision
    events = await pending if pending else await take(watch, 3)
    one, two = KeyValue("/w/a", b"one", r1, r1), KeyValue("/w/a", b"two", r1, r2)
    assert events == [
        Event("PUT", one, None, r1),
        Event("PUT", two, one, r2),
        Event("DELETE", KeyValue("/w/a", b"two", r1, r3), two, r3),
    ]


async def test_watch_sees_only_its_prefix(store: Store) -> None:
    start = await store.current_revision()
    for key in ["/w/a", "/wx", "/v/a", "/w/b"]:
        await store.create(key, b"x")
    events = await take(store.watch("/w/", start), 2)
    assert [e.kv.key for e in events] == ["/w/a", "/w/b"]


async def test_watch_replays_then_follows_live_writes_without_gap_or_repeat(store: Store) -> None:
    for i in range(10):
        await store.create(f"/wl/seed{i}", b"seed")
    start = await store.current_revision()
    for i in range(10):
        await store.update(f"/wl/seed{i}", b"after start", 0)
    acked: dict[int, tuple[str, bytes]] = {}

    async def writer(w: int) -> None:
        for i in range(30):
            key, value = f"/wl/w{w}/{i % 7}", f"{w}-{i}".encode()
            existing = await store.get(key)
            if existing is None:
                rev = await store.create(key, value)
            else:
                rev = await store.update(key, value, existing.mod_revision)
            acked[rev] = (key, value)

    live_watch = store.watch("/wl/", await store.current_revision())
    live = asyncio.ensure_future(take(live_watch, 120, timeout=30))
    writers = [asyncio.ensure_future(writer(w)) for w in range(4)]
    while len(acked) < 40:  # join while the writers are in full flow
        await asyncio.sleep(0.005)
    joined = store.watch("/wl/", start)
    first = await take(joined, 10)  # the replayed updates of the seeds
    await asyncio.gather(*writers)
    rest = await take(joined, 120, timeout=30)

    assert [e.kv.key for e in first] == [f"/wl/seed{i}" for i in range(10)]
    assert [e.revision for e in rest] == sorted(acked)
    assert {e.revision: (e.kv.key, e.kv.value) for e in rest} == acked
    revisions = [e.revision for e in first + rest]
    assert revisions == sorted(set(revisions)) and revisions[0] > start
    assert [shape(e) for e in await live] == [shape(e) for e in rest]


async def test_watch_from_a_compacted_revision_raises_compacted(store: Store) -> None:
    r1 = await store.create("/wc/a", b"1")
    await store.update("/wc/a", b"2", r1)
    r3 = await store.update("/wc/a", b"3", 0)
    r4 = await store.update("/wc/a", b"4", 0)
    await store.compact(r3)
    with pytest.raises(CompactedError) as compacted:
        await anext(store.watch("/wc/", r1 - 1))
    assert compacted.value.compacted == r3
    [event] = await take(store.watch("/wc/", r3), 1)
    assert (event.revision, event.kv.value, event.prev) == (r4, b"4", KeyValue("/wc/a", b"3", r1, r3))


async def test_many_watchers_each_see_every_event(store: Store) -> None:
    start = await store.current_revision()
    watchers = 1000
    tasks = [asyncio.ensure_future(take(store.watch("/many/", start), 20, timeout=60)) for _ in range(watchers)]
    await asyncio.sleep(0.1)
    revisions = [await store.create(f"/many/{i}", b"x") for i in range(20)]
    for seen in await asyncio.gather(*tasks):
        assert [e.revision for e in seen] == revisions


# -- everything at once, against a model -----------------------------------------------------

OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "update", "delete", "get"]),
        st.sampled_from(["a", "b", "c", "a/x"]),
        st.sampled_from(["current", "wrong", "any"]),
        st.binary(max_size=6),
    ),
    max_size=25,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
async def test_random_operations_match_a_dict_model(store: Store, ops: list[tuple[str, str, str, bytes]]) -> None:
    prefix = f"/model/{uuid.uuid4().hex}/"
    model: dict[str, KeyValue] = {}
    snapshots: list[tuple[int, list[KeyValue]]] = []
    changes: list[tuple[str, str, bytes, int]] = []
    start = last = await store.current_revision()
    for op, name, which, value in ops:
        key = prefix + name
        current = model.get(key)
        expected = {"current": current.mod_revision if current else 1, "any": 0}.get(
            which, current.mod_revision + 1 if current else 1
        )
        if op == "get":
            assert await store.get(key) == current
            continue
        if op == "create" and current is not None:
            with pytest.raises(KeyExistsError):
                await store.create(key, value)
            continue
        if op in ("update", "delete") and current is None:
            with pytest.raises(KeyNotFoundError):
                await (store.update(key, value, expected) if op == "update" else store.delete(key, expected))
            continue
        if op in ("update", "delete") and current and expected and expected != current.mod_revision:
            with pytest.raises(RevisionConflictError) as conflict:
                await (store.update(key, value, expected) if op == "update" else store.delete(key, expected))
            assert conflict.value.current == current
            continue
        if op == "create":
            rev = await store.create(key, value)
            model[key] = KeyValue(key, value, rev, rev)
        elif op == "update":
            assert current is not None
            rev = await store.update(key, value, expected)
            model[key] = KeyValue(key, value, current.create_revision, rev)
        else:
            assert current is not None
            gone = await store.delete(key, expected)
            rev = gone.mod_revision
            assert gone == KeyValue(key, current.value, current.create_revision, rev)
            del model[key]
        assert rev > last
        last = rev
        changes.append((op, key, value if op != "delete" else current.value, rev))  # type: ignore[union-attr]
        snapshots.append((rev, sorted(model.values(), key=lambda kv: kv.key)))

    assert (await store.list(prefix)).items == sorted(model.values(), key=lambda kv: kv.key)
    for rev, expected_items in snapshots:
        assert (await store.list(prefix, revision=rev)).items == expected_items
    events = await take(store.watch(prefix, start), len(changes))
    assert [shape(e) for e in events] == [
        ("DELETE" if op == "delete" else "PUT", key, value, rev) for op, key, value, rev in changes
    ]
