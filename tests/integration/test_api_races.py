"""Requests racing on one object end in 200/201/404/409, never 500, on SQLite and on etcd.

200 DELETE, PUT, PATCH and POST requests on one object at once, over raw HTTP against a live
server: whoever loses a race gets the Status Kubernetes answers (404 NotFound for a delete
that came second, 409 for a create of what exists), never an InternalError.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.helpers.cluster import Server, running_server, start_server
from tests.helpers.etcd import start_etcd
from tests.helpers.raw_api import raw_session

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
MERGE = {"Content-Type": "application/merge-patch+json"}
RACERS = 200


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("races") / "data") as srv:
        yield srv


async def _answer(request: Any) -> tuple[int, dict[str, Any]]:
    """Send `request` (an aiohttp request not yet awaited); its code and JSON body."""
    async with request as response:
        return response.status, json.loads(await response.read())


async def _configmap_races(session: aiohttp.ClientSession, name: str, rounds: int) -> tuple[Counter[int], list[dict]]:
    """`rounds` rounds of RACERS requests on configmap `name`; the codes and any 5xx bodies."""
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    url = f"{CONFIGMAPS}/{name}"

    def request(i: int) -> Any:
        match i % 4:
            case 0:
                return session.delete(url)
            case 1:
                return session.put(url, json={**obj, "data": {"i": str(i)}})
            case 2:
                return session.patch(url, data=json.dumps({"data": {"p": str(i)}}), headers=MERGE)
            case _:
                return session.post(CONFIGMAPS, json=obj)

    codes: Counter[int] = Counter()
    failures: list[dict] = []
    for _ in range(rounds):
        status, _ = await _answer(session.post(CONFIGMAPS, json=obj))
        assert status in (201, 409)
        for status, body in await asyncio.gather(*(_answer(request(i)) for i in range(RACERS))):
            codes[status] += 1
            if status >= 500:
                failures.append(body)
    return codes, failures


async def test_two_hundred_racing_writes_on_one_configmap_end_in_200_201_404_409(server: Server) -> None:
    async with raw_session(server) as session:
        codes, failures = await _configmap_races(session, "raced", rounds=3)
    assert failures == []
    assert set(codes) <= {200, 201, 404, 409}, codes
    assert codes[404] > 0 and codes[200] > 0  # the races did happen: some lost to a delete


async def test_the_second_of_two_concurrent_deletes_gets_kubernetes_not_found(server: Server) -> None:
    async with raw_session(server) as session:
        for attempt in range(20):
            name = f"twice-{attempt}"
            obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
            assert (await _answer(session.post(CONFIGMAPS, json=obj)))[0] == 201
            first, second = await asyncio.gather(
                *(_answer(session.delete(f"{CONFIGMAPS}/{name}")) for _ in range(2)))
            assert sorted([first[0], second[0]]) == [200, 404]
            lost = first[1] if first[0] == 404 else second[1]
            assert lost["reason"] == "NotFound" and lost["message"] == f'configmaps "{name}" not found'
            assert lost["details"] == {"name": name, "kind": "configmaps"}


async def test_racing_graceful_deletes_finalizer_removals_and_status_writes_on_a_pod(server: Server) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "raced-pod", "finalizers": ["example.com/hold"]},
           "spec": {"nodeName": "no-such-node", "containers": [{"name": "c", "image": "busybox"}]}}
    url = f"{PODS}/raced-pod"
    codes: Counter[int] = Counter()
    failures: list[dict] = []
    async with raw_session(server) as session:

        def request(i: int) -> Any:
            match i % 6:
                case 0:
                    return session.delete(url)  # graceful: sets deletionTimestamp
                case 1:
                    return session.delete(url + "?gracePeriodSeconds=0")
                case 2:  # the last finalizer going takes the terminating pod with it
                    return session.patch(url, data='{"metadata":{"finalizers":null}}', headers=MERGE)
                case 3:
                    return session.patch(url + "/status", data='{"status":{"phase":"Running"}}', headers=MERGE)
                case 4:
                    return session.post(PODS, json=pod)
                case _:
                    return session.delete(url, json={"preconditions": {"uid": "not-this-one"}})

        for _ in range(3):
            await _answer(session.post(PODS, json=pod))
            for status, body in await asyncio.gather(*(_answer(request(i)) for i in range(RACERS))):
                codes[status] += 1
                if status >= 500:
                    failures.append(body)
            await _answer(session.patch(url, data='{"metadata":{"finalizers":null}}', headers=MERGE))
            await _answer(session.delete(url + "?gracePeriodSeconds=0"))
    assert failures == []
    assert set(codes) <= {200, 201, 404, 409}, codes


async def test_racing_writes_on_an_etcd_backed_server_end_in_200_201_404_409(tmp_path: Path) -> None:
    (tmp_path / "etcd").mkdir()
    endpoint, stop_etcd = start_etcd(str(tmp_path / "etcd"))
    try:
        srv = start_server(tmp_path / "data", "--datastore-endpoint", "etcd://" + endpoint.split("://", 1)[1])
        try:
            async with raw_session(srv) as session:
                codes, failures = await _configmap_races(session, "raced-on-etcd", rounds=2)
        finally:
            srv.stop()
    finally:
        stop_etcd()
    assert failures == []
    assert set(codes) <= {200, 201, 404, 409}, codes
    assert codes[404] > 0 and codes[200] > 0


async def test_creates_racing_the_deletion_of_their_namespace_end_in_201_403_404(server: Server) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}}
    url = "/api/v1/namespaces/doomed/configmaps"
    async with raw_session(server) as session:
        assert (await _answer(session.post("/api/v1/namespaces", json=namespace)))[0] == 201

        def request(i: int) -> Any:
            if i == RACERS // 4:
                return session.delete("/api/v1/namespaces/doomed")
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}
            return session.post(url, json=body)

        answers = await asyncio.gather(*(_answer(request(i)) for i in range(RACERS)))
        late = await _answer(session.post(url, json={"apiVersion": "v1", "kind": "ConfigMap",
                                                     "metadata": {"name": "late"}}))
    codes = Counter(code for code, _ in answers)
    assert set(codes) <= {200, 201, 403, 404}, codes
    assert late[0] in (403, 404)
    refusals = [body for code, body in [*answers, late] if code == 403]
    for body in refusals:
        assert body["message"].endswith("unable to create new content in namespace doomed because it is being terminated")
        assert body["details"]["causes"] == [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                              "message": "namespace doomed is being terminated"}]
