"""The serving side of a server join: the join secret guards every call, the bootstrap data
is the cluster's shared files, member calls are checked before etcd sees them, and a server
without an embedded etcd says so."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kubelite import jointoken
from kubelite.apiserver.join import JoinService
from kubelite.apiserver.server_join import ServerJoin
from kubelite.etcd.join import BOOTSTRAP_PATH, MEMBERS_PATH, PROMOTE_PATH


class FakeEtcd:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.caught_up = False

    async def add_learner(self, name: str, peer_url: str) -> str:
        self.calls.append(("add", name, peer_url))
        return f"first=https://10.0.0.1:2380,{name}={peer_url}"

    async def promote(self, name: str, peer_url: str) -> bool:
        self.calls.append(("promote", name, peer_url))
        return self.caught_up


async def _client(tmp_path: Path, etcd: Any) -> tuple[TestClient, str]:
    join = JoinService(tmp_path, tmp_path / "tls")
    app = web.Application()
    ServerJoin(tmp_path, join, etcd).add_routes(app.router)
    client = TestClient(TestServer(app))
    await client.start_server()
    secret = jointoken.parse(join.token).secret
    return client, "Basic " + base64.b64encode(f"server:{secret}".encode()).decode()


async def test_every_call_needs_the_join_secret(tmp_path: Path) -> None:
    client, _ = await _client(tmp_path, FakeEtcd())
    wrong = "Basic " + base64.b64encode(b"server:nope").decode()
    try:
        for method, path in (("GET", BOOTSTRAP_PATH), ("POST", MEMBERS_PATH), ("POST", PROMOTE_PATH)):
            for headers in ({}, {"Authorization": wrong}):
                answer = await client.request(method, path, headers=headers, json={})
                assert answer.status == 401 and jointoken.TOKEN_NOT_VALID in await answer.text()
    finally:
        await client.close()


async def test_the_bootstrap_data_is_the_clusters_ca_and_keys(tmp_path: Path) -> None:
    client, auth = await _client(tmp_path, FakeEtcd())
    try:
        doc = await (await client.get(BOOTSTRAP_PATH, headers={"Authorization": auth})).json()
        assert base64.b64decode(doc["tls/ca.key"]) == (tmp_path / "tls" / "ca.key").read_bytes()
        assert "tls/client-ca.key" in doc and "token" not in doc
    finally:
        await client.close()


async def test_members_are_added_as_asked_and_promoted_once_caught_up(tmp_path: Path) -> None:
    etcd = FakeEtcd()
    client, auth = await _client(tmp_path, etcd)
    body = {"name": "host-1a2b3c4d", "peerURL": "https://10.0.0.2:2380"}
    try:
        added = await client.post(MEMBERS_PATH, json=body, headers={"Authorization": auth})
        assert (await added.json())["initialCluster"].endswith("host-1a2b3c4d=https://10.0.0.2:2380")
        assert (await client.post(PROMOTE_PATH, json=body, headers={"Authorization": auth})).status == 409
        etcd.caught_up = True
        assert (await client.post(PROMOTE_PATH, json=body, headers={"Authorization": auth})).status == 200
    finally:
        await client.close()


async def test_bad_member_requests_never_reach_etcd(tmp_path: Path) -> None:
    etcd = FakeEtcd()
    client, auth = await _client(tmp_path, etcd)
    bad = [b"not json", b"[1]", b'{"name": "UPPER", "peerURL": "https://10.0.0.2:2380"}',
           b'{"name": "ok", "peerURL": "http://10.0.0.2:2380"}',
           b'{"name": "ok", "peerURL": "https://10.0.0.2:99999"}',
           b'{"name": "ok", "peerURL": "https://10.0.0.2:2380/x"}', b"x" * 5000]
    try:
        for data in bad:
            answer = await client.post(MEMBERS_PATH, data=data, headers={"Authorization": auth})
            assert answer.status in (400, 413), data
        assert etcd.calls == []
    finally:
        await client.close()


async def test_a_server_without_embedded_etcd_has_no_members_to_join(tmp_path: Path) -> None:
    client, auth = await _client(tmp_path, None)
    try:
        answer = await client.post(MEMBERS_PATH, json={"name": "a", "peerURL": "https://10.0.0.2:2380"},
                                   headers={"Authorization": auth})
        assert answer.status == 404 and "--cluster-init" in await answer.text()
    finally:
        await client.close()
