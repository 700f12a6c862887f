"""events.k8s.io/v1 Events are the core/v1 Events seen another way, as kube-apiserver serves them:
regarding/note/reportingController/deprecated* on one side, involvedObject/message/
reportingComponent/source/count on the other; discovery lists it, kubectl reads it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.helpers.cluster import KUBECTL_VERSIONS, Server, running_server
from tests.helpers.raw_api import raw_session

CORE = "/api/v1/namespaces/default/events"
V1 = "/apis/events.k8s.io/v1/namespaces/default/events"
REF = {"apiVersion": "v1", "kind": "Pod", "name": "web", "namespace": "default", "uid": "u1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("events-v1") / "data") as srv:
        yield srv


@pytest.fixture
async def session(server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_session(server) as s:
        yield s


async def _json(resp: aiohttp.ClientResponse, code: int) -> Any:
    body = await resp.json()
    assert resp.status == code, body
    return body


async def test_a_core_event_reads_as_events_v1(session: aiohttp.ClientSession) -> None:
    core = {"metadata": {"name": "web.17e0000000000001"}, "involvedObject": REF, "reason": "BackOff",
            "message": "Back-off pulling image", "type": "Warning", "count": 3,
            "source": {"component": "kubelet", "host": "n1"}, "reportingComponent": "kubelet",
            "reportingInstance": "n1", "firstTimestamp": "2025-03-01T12:00:00Z",
            "lastTimestamp": "2025-03-01T12:00:40Z"}
    async with session.post(CORE, json=core) as r:
        await _json(r, 201)
    async with session.get(f"{V1}/web.17e0000000000001") as r:
        ev = await _json(r, 200)
    assert ev["apiVersion"] == "events.k8s.io/v1" and ev["kind"] == "Event"
    assert ev["regarding"] == REF and ev["note"] == "Back-off pulling image"
    assert ev["reportingController"] == "kubelet" and ev["reportingInstance"] == "n1"
    assert ev["deprecatedSource"] == {"component": "kubelet", "host": "n1"}
    assert ev["deprecatedCount"] == 3
    assert ev["deprecatedFirstTimestamp"] == "2025-03-01T12:00:00Z"
    assert ev["deprecatedLastTimestamp"] == "2025-03-01T12:00:40Z"
    assert ev["eventTime"] is None
    for core_only in ("involvedObject", "message", "source", "count", "reportingComponent"):
        assert core_only not in ev
    async with session.get(V1, params={"fieldSelector": "regarding.name=web"}) as r:
        listed = await _json(r, 200)
    assert listed["kind"] == "EventList" and listed["apiVersion"] == "events.k8s.io/v1"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["web.17e0000000000001"]


async def test_an_events_v1_series_is_stored_as_a_core_event(session: aiohttp.ClientSession) -> None:
    ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
          "metadata": {"name": "web.17e0000000000002"}, "regarding": REF,
          "eventTime": "2025-03-01T12:00:00.000001Z", "reportingController": "default-scheduler",
          "reportingInstance": "default-scheduler-h", "action": "Scheduling",
          "reason": "FailedScheduling", "note": "0/1 nodes are available", "type": "Warning"}
    async with session.post(V1, json=ev) as r:
        created = await _json(r, 201)
    assert created["note"] == "0/1 nodes are available"
    series = {"series": {"count": 2, "lastObservedTime": "2025-03-01T12:00:30.000000Z"}}
    async with session.patch(f"{V1}/web.17e0000000000002", data=json.dumps(series),
                             headers={"Content-Type": "application/strategic-merge-patch+json"}) as r:
        patched = await _json(r, 200)
    assert patched["series"] == series["series"]
    async with session.get(f"{CORE}/web.17e0000000000002") as r:
        core = await _json(r, 200)
    assert core["involvedObject"] == REF and core["message"] == "0/1 nodes are available"
    assert core["reportingComponent"] == "default-scheduler" and core["series"]["count"] == 2
    assert "source" not in core and "count" not in core


async def test_a_watch_sends_events_v1_objects(session: aiohttp.ClientSession) -> None:
    async with session.get(V1) as r:
        rv = (await _json(r, 200))["metadata"]["resourceVersion"]
    params = {"watch": "true", "resourceVersion": rv, "timeoutSeconds": "5"}
    async with session.get(V1, params=params) as watch:
        async with session.post(CORE, json={"metadata": {"name": "web.17e0000000000003"},
                                            "involvedObject": REF, "reason": "Pulled",
                                            "message": "pulled", "type": "Normal"}) as r:
            await _json(r, 201)
        line = await asyncio.wait_for(watch.content.readline(), 5)
    event = json.loads(line)
    assert event["type"] == "ADDED"
    assert event["object"]["apiVersion"] == "events.k8s.io/v1" and event["object"]["note"] == "pulled"


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_kubectl_finds_and_reads_events_v1(server: Server, version: str) -> None:
    resources = server.kubectl("api-resources", "--api-group=events.k8s.io", version=version).stdout
    assert "events.k8s.io/v1" in resources and "Event" in resources
    out = server.kubectl("get", "events.v1.events.k8s.io", "-o", "json", version=version).stdout
    assert json.loads(out)["items"][0]["apiVersion"] == "events.k8s.io/v1"
    table = server.kubectl("get", "events.events.k8s.io", version=version).stdout
    assert table.splitlines()[0].split()[:3] == ["LAST", "SEEN", "TYPE"]
