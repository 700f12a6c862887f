"""The joining side of `kubelite server --server URL --token TOKEN` (k3s' server join):

1. `GET /cacerts` without verification, its hash checked against the token (as an agent does);
   the server is verified with that CA from then on.
2. `GET /v1-kubelite/server-bootstrap` with basic auth `server:<secret>`: the CAs and keys every
   server shares (etcd/bootstrap.py), written into this data dir.
3. `POST /v1-kubelite/etcd/members` {name, peerURL}: the server adds this member to its etcd as
   a learner and answers etcd's `--initial-cluster`; this member starts with
   `--initial-cluster-state existing` and catches up.
4. `POST /v1-kubelite/etcd/members/promote` {name}, repeated until the learner has caught up
   and is a voting member.
The paths and words are the server's (apiserver/server_join.py).
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp

from kubelite import jointoken, pki
from kubelite.etcd import bootstrap

BOOTSTRAP_PATH = "/v1-kubelite/server-bootstrap"
MEMBERS_PATH = "/v1-kubelite/etcd/members"
PROMOTE_PATH = "/v1-kubelite/etcd/members/promote"
TIMEOUT = aiohttp.ClientTimeout(total=60)
PROMOTE_RETRY = 1.0  # seconds between promotion attempts while the learner catches up
PROMOTE_TIMEOUT = 300.0
NOT_IN_SYNC = 409  # the server's answer while the learner is behind
UNAVAILABLE = 503  # etcd refused the change for now


class ServerJoinError(Exception):
    """This server cannot join the cluster: the message says why, for the user."""


class ClusterJoin:
    """One joining server's calls to an existing server of the cluster."""

    def __init__(self, server: str, token: str) -> None:
        try:
            self.token = jointoken.parse(token)
        except jointoken.TokenFormatError as e:
            raise ServerJoinError(f"--token: {e}") from e
        if not self.token.ca_hash:
            raise ServerJoinError("joining a server needs the full token (K10...) from the first "
                                  "server's DATA_DIR/token")
        self.server = server.rstrip("/")
        if not self.server.startswith("https://"):
            raise ServerJoinError(f"only https:// URLs are supported, invalid scheme: {self.server}")
        self._ssl: ssl.SSLContext | None = None

    @property
    def _auth(self) -> dict[str, str]:
        creds = base64.b64encode(f"{jointoken.SERVER_USER}:{self.token.secret}".encode()).decode()
        return {"Authorization": f"Basic {creds}"}

    async def trust(self) -> bytes:
        """The cluster CA, fetched and checked against the token's hash."""
        from kubelite.kubelet.bootstrap import JoinError, fetch_ca, pin_ca

        try:
            ca_pem = await fetch_ca(self.server)
            pin_ca(self.token, ca_pem)
        except JoinError as e:
            raise ServerJoinError(str(e)) from e
        self._ssl = ssl.create_default_context(cadata=ca_pem.decode())
        return ca_pem

    async def _trusted(self) -> ssl.SSLContext:
        await self.trust()
        assert self._ssl is not None
        return self._ssl

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        tls = self._ssl if self._ssl is not None else await self._trusted()
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as s, \
                    s.request(method, self.server + path, json=body, headers=self._auth, ssl=tls) as r:
                data = await r.content.read(bootstrap.MAX_BYTES + 1)
                if len(data) > bootstrap.MAX_BYTES:
                    raise ServerJoinError(f"{self.server}{path}: answer too large")
                if r.status in (401, 403):
                    raise ServerJoinError(f"{jointoken.TOKEN_NOT_VALID} ({self.server})")
                return r.status, data
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            raise ServerJoinError(f"cannot reach the server {self.server}: {e}") from e

    async def _ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, data = await self._call(method, path, body)
        if status != 200:
            raise ServerJoinError(f"{self.server}{path}: {status}: {data.decode(errors='replace').strip()}")
        try:
            return json.loads(data)
        except ValueError as e:
            raise ServerJoinError(f"{self.server}{path}: not JSON: {e}") from e

    async def copy_bootstrap(self, data_dir: Path) -> list[str]:
        """Write the cluster's shared files into `data_dir`; the paths written."""
        ca_pem = await self.trust()
        try:
            written = bootstrap.write(data_dir, await self._ok("GET", BOOTSTRAP_PATH))
        except bootstrap.BootstrapError as e:
            raise ServerJoinError(f"{self.server}{BOOTSTRAP_PATH}: {e}") from e
        if (data_dir / "tls" / "ca.crt").read_bytes() != ca_pem:
            raise ServerJoinError("the bootstrap data's CA is not the one the token pins")
        pki.write_private(data_dir / "token", (str(self.token) + "\n").encode())
        return written

    async def add_member(self, name: str, peer_url: str, timeout: float = PROMOTE_TIMEOUT) -> str:
        """Ask the server to add this member (as a learner); etcd's --initial-cluster. Retried
        while etcd refuses for now (503: a member that joined a moment ago has not been
        connected long enough for etcd to call the cluster healthy)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status, data = await self._call("POST", MEMBERS_PATH, {"name": name, "peerURL": peer_url})
            if status == 200:
                break
            if status != UNAVAILABLE or loop.time() >= deadline:
                raise ServerJoinError(f"{self.server}{MEMBERS_PATH}: {status}: {data.decode(errors='replace').strip()}")
            await asyncio.sleep(PROMOTE_RETRY)
        try:
            answer = json.loads(data)
        except ValueError as e:
            raise ServerJoinError(f"{self.server}{MEMBERS_PATH}: not JSON: {e}") from e
        initial = answer.get("initialCluster") if isinstance(answer, dict) else None
        if not isinstance(initial, str) or not initial:
            raise ServerJoinError(f"{self.server}{MEMBERS_PATH}: no initialCluster in the answer")
        return initial

    async def promote(self, name: str, peer_url: str, timeout: float = PROMOTE_TIMEOUT) -> None:
        """Ask for this learner's promotion until it has caught up and votes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            status, data = await self._call("POST", PROMOTE_PATH, {"name": name, "peerURL": peer_url})
            if status == 200:
                return
            if status != NOT_IN_SYNC or loop.time() >= deadline:
                raise ServerJoinError(f"{self.server}{PROMOTE_PATH}: {status}: "
                                      f"{data.decode(errors='replace').strip()}")
            await asyncio.sleep(PROMOTE_RETRY)
