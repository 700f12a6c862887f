"""The agent's list of API servers: from the `kubernetes` Endpoints, saved across restarts,
and the health check that fails the current server over."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kubelite.client.servers import ServerPool
from kubelite.kubelet import api_servers
from kubelite.kubelet.api_servers import ApiServers, endpoint_urls
from tests.helpers.wait import eventually

DEFAULT = "https://lb.example:6443"
# Pools here order their servers by name (rank=str): by default each client has an order of
# its own, random per process.


def endpoints(*ips: str, port: int = 6443) -> dict[str, Any]:
    return {"metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips],
                         "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}


def test_endpoint_urls_are_https_to_every_address_on_the_https_port() -> None:
    assert endpoint_urls(endpoints("10.0.0.2", "10.0.0.1", port=7443)) == [
        "https://10.0.0.1:7443", "https://10.0.0.2:7443"]
    assert endpoint_urls(endpoints("fd00::1")) == ["https://[fd00::1]:6443"]
    assert endpoint_urls({"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]}) == []  # no port
    assert endpoint_urls({}) == []


def test_the_list_is_saved_and_read_back_for_the_same_server(tmp_path: Path) -> None:
    pool = ServerPool(DEFAULT, rank=str)
    pool.set_servers(["https://10.0.0.1:6443", "https://10.0.0.2:6443"])
    api_servers.save(pool, str(tmp_path))
    again = ServerPool(DEFAULT, rank=str)
    api_servers.load_saved(again, str(tmp_path))
    assert again.servers == pool.servers
    other = ServerPool("https://elsewhere:6443", rank=str)  # another cluster's list is not used
    api_servers.load_saved(other, str(tmp_path))
    assert other.servers == ["https://elsewhere:6443"]


def test_a_damaged_saved_list_is_ignored(tmp_path: Path) -> None:
    (tmp_path / api_servers.SAVED_FILE).write_text("[not json")
    pool = ServerPool(DEFAULT, rank=str)
    api_servers.load_saved(pool, str(tmp_path))
    assert pool.servers == [DEFAULT]


class FakeClient:
    """What ApiServers uses of ApiClient: its pool, list/watch for the informer, healthy()."""

    def __init__(self, pool: ServerPool, healthy: dict[str, bool]) -> None:
        self.servers = pool
        self.health = healthy
        self.checks: list[str] = []

    async def healthy(self, server: str, timeout: float = 5.0) -> bool:
        self.checks.append(server)
        return self.health.get(server, True)


def listed(tmp_path: Path, client: FakeClient) -> ApiServers:
    watcher = ApiServers(client, str(tmp_path), interval=0.01)  # type: ignore[arg-type]
    watcher._listed(endpoints("10.0.0.1", "10.0.0.2"))
    return watcher


def test_endpoints_set_the_servers_and_are_saved(tmp_path: Path) -> None:
    pool = ServerPool(DEFAULT, rank=str)
    listed(tmp_path, FakeClient(pool, {}))
    assert pool.servers == ["https://10.0.0.1:6443", "https://10.0.0.2:6443", DEFAULT]
    assert (tmp_path / api_servers.SAVED_FILE).exists()


def test_endpoints_without_addresses_keep_the_known_servers(tmp_path: Path) -> None:
    pool = ServerPool(DEFAULT, rank=str)
    watcher = listed(tmp_path, FakeClient(pool, {}))
    watcher._listed(endpoints())
    assert len(pool.servers) == 3


async def test_a_current_server_failing_its_health_checks_is_left(tmp_path: Path) -> None:
    pool = ServerPool(DEFAULT, rank=str)
    client = FakeClient(pool, {DEFAULT: False})
    watcher = listed(tmp_path, client)
    task = asyncio.create_task(watcher._check_loop())
    try:
        await eventually(lambda: pool.current != DEFAULT)
        assert pool.current == "https://10.0.0.1:6443"
        assert client.checks.count(DEFAULT) == api_servers.FAILURES
    finally:
        task.cancel()


async def test_the_failed_server_is_left_for_one_that_answers(tmp_path: Path) -> None:
    pool = ServerPool(DEFAULT, rank=str)
    client = FakeClient(pool, {DEFAULT: False, "https://10.0.0.1:6443": False})
    watcher = listed(tmp_path, client)
    task = asyncio.create_task(watcher._check_loop())
    try:
        await eventually(lambda: pool.current != DEFAULT)
        assert pool.current == "https://10.0.0.2:6443"  # 10.0.0.1 is next in order, but unready
    finally:
        task.cancel()


async def test_when_no_server_is_ready_the_agent_stays(tmp_path: Path) -> None:
    pool = ServerPool(DEFAULT, rank=str)
    client = FakeClient(pool, {DEFAULT: False, "https://10.0.0.1:6443": False,
                               "https://10.0.0.2:6443": False})
    watcher = listed(tmp_path, client)
    task = asyncio.create_task(watcher._check_loop())
    try:
        await eventually(lambda: client.checks.count(DEFAULT) >= 2 * api_servers.FAILURES)
        assert pool.current == DEFAULT
    finally:
        task.cancel()


async def test_a_healthy_server_is_kept(tmp_path: Path) -> None:
    pool = ServerPool(DEFAULT, rank=str)
    client = FakeClient(pool, {})
    listed(tmp_path, client)
    watcher = ApiServers(client, str(tmp_path), interval=0.01)  # type: ignore[arg-type]
    task = asyncio.create_task(watcher._check_loop())
    try:
        await eventually(lambda: len(client.checks) >= 5)
        assert pool.current == DEFAULT
    finally:
        task.cancel()
