"""Reads and watches from a resourceVersion the server has not reached, as Kubernetes answers them.

GET and LIST ask for state "not older than" the resourceVersion: the server waits a moment
(Kubernetes' watch cache waits 3 s) and answers at once if the revision arrives, else 504
Timeout "Too large resource version" with a ResourceVersionTooLarge cause and Retry-After.
A watch from a future resourceVersion is accepted, stays quiet, and sends only events after
that revision, as Kubernetes' cacher does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.helpers.cluster import Server, running_server
from tests.helpers.raw_api import raw_session

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
WAIT = 3.0  # Kubernetes' blockTimeout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("future-rv") / "data") as srv:
        yield srv


@pytest.fixture
async def session(server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_session(server, connections=8) as s:
        yield s


async def _revision(session: aiohttp.ClientSession) -> int:
    async with session.get(CONFIGMAPS) as r:
        return int((await r.json())["metadata"]["resourceVersion"])


async def _create(session: aiohttp.ClientSession, name: str) -> int:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    async with session.post(CONFIGMAPS, json=body) as r:
        assert r.status == 201, await r.text()
        return int((await r.json())["metadata"]["resourceVersion"])


@pytest.mark.parametrize("query", ["", "&resourceVersionMatch=NotOlderThan"])
async def test_a_list_far_in_the_future_times_out_with_too_large_resource_version(
    session: aiohttp.ClientSession, query: str
) -> None:
    wanted = await _revision(session) + 1_000_000
    started = time.monotonic()
    async with session.get(f"{CONFIGMAPS}?resourceVersion={wanted}{query}") as r:
        status, retry_after = await r.json(), r.headers.get("Retry-After")
        code = r.status
    waited = time.monotonic() - started
    assert code == 504 and retry_after == "1"
    assert status["reason"] == "Timeout" and status["code"] == 504
    assert status["message"].startswith(f"Timeout: Too large resource version: {wanted}, current: ")
    assert status["details"]["causes"] == [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]
    assert status["details"]["retryAfterSeconds"] == 1
    assert waited >= WAIT - 0.5  # it did wait for the revision before giving up


async def test_a_get_far_in_the_future_times_out_the_same_way(session: aiohttp.ClientSession) -> None:
    await _create(session, "present")
    wanted = await _revision(session) + 1_000_000
    async with session.get(f"{CONFIGMAPS}/present?resourceVersion={wanted}") as r:
        assert r.status == 504
        status = await r.json()
    assert status["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


async def test_an_exact_list_at_a_future_revision_is_too_large_at_once(session: aiohttp.ClientSession) -> None:
    wanted = await _revision(session) + 1_000_000
    async with session.get(f"{CONFIGMAPS}?resourceVersion={wanted}&resourceVersionMatch=Exact") as r:
        assert r.status == 504
        assert (await r.json())["message"].startswith(f"Timeout: Too large resource version: {wanted}")


async def test_a_list_answers_as_soon_as_the_revision_it_waits_for_arrives(session: aiohttp.ClientSession) -> None:
    # far enough ahead that the cluster's own writes (Lease renewals every 2 s) cannot reach it
    # while the test looks, near enough to write our way there
    target = await _revision(session) + 30
    listing = asyncio.create_task(_list_names(session, f"{CONFIGMAPS}?resourceVersion={target}"))
    await asyncio.sleep(0.3)
    assert not listing.done()  # waiting for a revision that does not exist yet
    made, revision = "", 0
    while revision < target:
        made = f"arrives-{revision}"
        revision = await _create(session, made)
    code, names = await asyncio.wait_for(listing, WAIT + 10)
    assert code == 200 and made in names


async def _list_names(session: aiohttp.ClientSession, url: str) -> tuple[int, list[str]]:
    async with session.get(url) as r:
        body = await r.json()
        return r.status, [i["metadata"]["name"] for i in body.get("items", [])]


async def test_a_watch_from_a_future_revision_sends_only_what_comes_after_it(session: aiohttp.ClientSession) -> None:
    from_revision = await _revision(session) + 20
    async with session.get(f"{CONFIGMAPS}?watch=true&resourceVersion={from_revision}") as watch:
        assert watch.status == 200
        created: dict[str, int] = {}
        while not created or max(created.values()) <= from_revision + 1:  # write past the revision
            name = f"w{len(created)}"
            created[name] = await _create(session, name)
        last = max(created, key=created.__getitem__)
        seen: dict[str, int] = {}
        async with asyncio.timeout(30):
            while last not in seen:
                event = json.loads(await watch.content.readline())
                seen[event["object"]["metadata"]["name"]] = int(event["object"]["metadata"]["resourceVersion"])
    assert all(revision > from_revision for revision in seen.values())
    mine = {name for name in seen if name in created}
    assert mine == {name for name, revision in created.items() if revision > from_revision}
    assert len(mine) < len(created)  # the creates at or before the revision were not sent


async def test_a_bad_resource_version_is_a_bad_request(session: aiohttp.ClientSession) -> None:
    for url in (f"{CONFIGMAPS}?resourceVersion=soon", f"{CONFIGMAPS}/present?resourceVersion=-1"):
        async with session.get(url) as r:
            assert r.status == 400 and (await r.json())["reason"] == "BadRequest"
