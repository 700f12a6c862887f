"""Every API server's address for the agent, and the health check that fails over between
them (the job of k3s' agent load balancer; choice and reasons in README "Choices worth knowing").

Each API server writes its advertised address into the `kubernetes` Endpoints in `default`
(controlplane/kubernetes_service.py). The agent watches that one object and gives its
addresses to the client's ServerPool (client/servers.py), with `--server` kept as the
fallback. The list is saved in DATA_DIR/agent/api-servers.json, so an agent restarted while
its `--server` is down still knows the others. Every few seconds the current server is asked
for /readyz: after two failures in a row (a server that vanished without closing its
connections, which TCP would notice only after minutes, or one that lost its store) the
client moves to a server that answers /readyz. When none does (the store is down for all),
it stays: moving would only make every watch start again somewhere just as unwell.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from kubelite.client import ApiClient, Informer
from kubelite.client.servers import ServerPool

log = logging.getLogger(__name__)

SAVED_FILE = "api-servers.json"
CHECK_INTERVAL = 5.0
CHECK_TIMEOUT = 3.0
FAILURES = 2  # health checks failed in a row before the server counts as failed
HTTPS_PORT_NAME = "https"


def endpoint_urls(endpoints: dict[str, Any]) -> list[str]:
    """https://IP:PORT of every address of the `kubernetes` Endpoints (its `https` port)."""
    urls = []
    for subset in endpoints.get("subsets") or []:
        ports = subset.get("ports") or []
        port = next((p.get("port") for p in ports if p.get("name") == HTTPS_PORT_NAME),
                    ports[0].get("port") if ports else None)
        if not port:
            continue
        for address in subset.get("addresses") or []:
            ip = str(address.get("ip") or "")
            if ip:
                urls.append(f"https://[{ip}]:{port}" if ":" in ip else f"https://{ip}:{port}")
    return sorted(set(urls))


def saved_servers(kubelet_dir: str, default: str) -> list[str]:
    """The servers the last run against the same `--server` knew ([] if none or unreadable)."""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        saved = json.loads(Path(kubelet_dir, SAVED_FILE).read_text())
        if saved.get("serverURL") == default.rstrip("/"):
            return [str(u) for u in saved.get("serverAddresses") or []]
    return []


def load_saved(pool: ServerPool, kubelet_dir: str) -> None:
    """Seed `pool` with the servers saved by the last run against the same `--server`."""
    pool.set_servers(saved_servers(kubelet_dir, pool.default))


def save(pool: ServerPool, kubelet_dir: str) -> None:
    doc = {"serverURL": pool.default, "serverAddresses": pool.servers[:-1]}
    path = Path(kubelet_dir, SAVED_FILE)
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, path)
    except OSError as e:
        log.warning("cannot save the API server list: %s", e)


class ApiServers:
    """Keeps `client.servers` current from the `kubernetes` Endpoints and health-checks the
    server in use. `start()` returns its tasks; `stop()` ends them."""

    def __init__(self, client: ApiClient, kubelet_dir: str, *, interval: float = CHECK_INTERVAL) -> None:
        self.client = client
        self.pool = client.servers
        self.kubelet_dir = kubelet_dir
        self.interval = interval
        self.informer = Informer(client, "endpoints", "default",
                                 field_selector="metadata.name=kubernetes", raw=True)
        self.informer.on_add(self._listed)
        self.informer.on_update(lambda _old, new: self._listed(new))
        self._task: asyncio.Task[None] | None = None

    def start(self) -> list[asyncio.Task[None]]:
        self._task = asyncio.create_task(self._check_loop(), name="api-server-health")
        return [self.informer.start(), self._task]

    async def stop(self) -> None:
        await self.informer.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _listed(self, endpoints: dict[str, Any]) -> None:
        urls = endpoint_urls(endpoints)
        if not urls:  # every server's lease lapsed (or none wrote yet): keep what we know
            return
        before = self.pool.servers
        self.pool.set_servers(urls)
        if self.pool.servers != before:
            save(self.pool, self.kubelet_dir)

    async def _check_loop(self) -> None:
        failures = 0
        while True:
            await asyncio.sleep(self.interval)
            if len(self.pool.servers) < 2:
                continue
            current = self.pool.current
            if await self.client.healthy(current, CHECK_TIMEOUT):
                failures = 0
                self.pool.succeeded(current)
                continue
            failures += 1
            if failures >= FAILURES and self.pool.current == current:
                failures = 0
                instead = await self._healthy_other(current)
                if instead:
                    log.warning("API server %s failed %d health checks", current, FAILURES)
                    self.pool.failed(current, instead)
                else:
                    log.warning("API server %s failed %d health checks, and no other server "
                                "is ready: staying", current, FAILURES)

    async def _healthy_other(self, current: str) -> str:
        """The first other server, in the pool's order, that answers /readyz ("" if none)."""
        for url in self.pool.candidates():
            if url != current and await self.client.healthy(url, CHECK_TIMEOUT):
                return url
        return ""
