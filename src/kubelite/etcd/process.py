"""The etcd child of `kubelite server`: Debian's /usr/bin/etcd, with the flags k3s gives its
embedded etcd, supervised (restarted if it dies) and tied to the server's life."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from kubelite.etcd import layout
from kubelite.etcd.layout import MemberUrls
from kubelite.supervisor import SupervisedProcess

log = logging.getLogger(__name__)

ETCD_BINARY = "/usr/bin/etcd"
ETCD_MISSING = "etcd is not installed: `make install` puts in Debian's etcd-server (/usr/bin/etcd)"
# Between etcd's defaults (100 ms, 1 s) and k3s' (500 ms, 5 s): slower than etcd's rides out
# a busy machine without needless elections, faster than k3s' elects a leader (and starts a
# lone member) in a few seconds. A 2 GiB quota (etcd's default).
HEARTBEAT_MS = 250
ELECTION_MS = 2500
QUOTA_BYTES = 2 * 1024**3
HEALTH_POLL = 0.2


def etcd_binary() -> str:
    binary = shutil.which("etcd") or ETCD_BINARY
    if not os.path.exists(binary):
        raise layout.EtcdConfigError(ETCD_MISSING)
    return binary


@dataclass(frozen=True)
class PeerTls:
    ca: Path
    cert: Path
    key: Path


def etcd_flags(data_dir: Path, urls: MemberUrls, tls: PeerTls, *, initial_cluster: str,
               state: str, extra: tuple[str, ...] = ()) -> list[str]:
    """etcd's flags for this member. `initial_cluster` and `state` ("new" or "existing") only
    count on the first start of an empty data dir; etcd ignores them afterwards."""
    listen_peer = urls.peer_url
    return [
        "--name", urls.name,
        "--data-dir", str(layout.etcd_dir(data_dir)),
        "--listen-client-urls", urls.client_url,
        "--advertise-client-urls", urls.client_url,
        "--listen-peer-urls", listen_peer,
        "--initial-advertise-peer-urls", urls.peer_url,
        "--initial-cluster", initial_cluster,
        "--initial-cluster-state", state,
        "--peer-client-cert-auth",
        "--peer-trusted-ca-file", str(tls.ca),
        "--peer-cert-file", str(tls.cert),
        "--peer-key-file", str(tls.key),
        "--heartbeat-interval", str(HEARTBEAT_MS),
        "--election-timeout", str(ELECTION_MS),
        "--quota-backend-bytes", str(QUOTA_BYTES),
        "--logger", "zap",
        "--log-level", "warn",
        *extra,
    ]


class EtcdProcess(SupervisedProcess):
    """The supervised etcd child; `wait_healthy()` returns once it serves (has a leader)."""

    def __init__(self, flags: list[str], client_url: str) -> None:
        super().__init__("etcd", [sys.executable, "-m", "kubelite.etcd.exec_with_parent",
                                  str(os.getpid()), etcd_binary(), *flags])
        self.client_url = client_url

    def exited(self, code: int) -> bool:
        """etcd exits 0 on its own only when it learns it was removed from the cluster (a signal
        or an error ends it otherwise): started again, it would only exit again, so it is not."""
        if code == 0:
            log.error("etcd exited on its own: this member was removed from the cluster (its node "
                      "deleted); this server answers store errors until it is stopped: delete "
                      "DATA_DIR/db and join it again")
            return False
        return True

    async def wait_healthy(self, timeout: float | None = None, say_every: float = 10.0) -> None:
        """Until `/health` says true (a member without quorum never does: the server waits, as
        k3s does, and says so every `say_every` seconds). TimeoutError after `timeout`."""
        loop = asyncio.get_running_loop()
        start = last_said = loop.time()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while True:
                if await _healthy(session, self.client_url):
                    return
                now = loop.time()
                if timeout is not None and now - start >= timeout:
                    raise TimeoutError(f"etcd at {self.client_url} is not healthy after {timeout:.0f} s")
                if now - last_said >= say_every:
                    log.info("waiting for etcd at %s to become healthy (it needs a quorum of its members)",
                             self.client_url)
                    last_said = now
                await asyncio.sleep(HEALTH_POLL)


async def _healthy(session: aiohttp.ClientSession, client_url: str) -> bool:
    try:
        async with session.get(client_url + "/health") as answer:
            body = await answer.json(content_type=None)
            return bool(answer.status == 200 and str(body.get("health")) == "true")
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError, AttributeError):
        return False
