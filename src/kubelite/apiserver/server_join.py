"""The serving side of a server join (k3s' `/v1-k3s/server-bootstrap` and its etcd member
calls; the joining side and the steps are in etcd/join.py). Every call needs basic auth with
the join secret, as the node certificate endpoint does; a server without an embedded etcd
answers 404 to the member calls (its cluster has no members to join).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from kubelite import jointoken
from kubelite.apiserver.join import JoinService
from kubelite.etcd import bootstrap
from kubelite.etcd.embedded import EmbeddedEtcd
from kubelite.etcd.etcdctl import EtcdctlError
from kubelite.etcd.join import BOOTSTRAP_PATH, MEMBERS_PATH, NOT_IN_SYNC, PROMOTE_PATH, UNAVAILABLE

log = logging.getLogger(__name__)

MAX_BODY = 4096
_MEMBER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
_PEER_URL = re.compile(r"^https://(\[[0-9a-fA-F:.]+\]|[0-9.]+|[a-z0-9.-]+):[0-9]{1,5}$")
NO_EMBEDDED_ETCD = "this server has no embedded etcd (start the first server with --cluster-init)"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ServerJoin:
    """Serves the bootstrap data and adds and promotes joining servers' etcd members."""

    def __init__(self, data_dir: Path, join: JoinService, etcd: EmbeddedEtcd | None) -> None:
        self.data_dir = data_dir
        self.join = join
        self.etcd = etcd

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(BOOTSTRAP_PATH, self._guarded(self.bootstrap))
        router.add_post(MEMBERS_PATH, self._guarded(self.add_member))
        router.add_post(PROMOTE_PATH, self._guarded(self.promote))

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.join.authorized(request.headers.get("Authorization")):
                log.warning("refused %s to %s: %s", request.path, request.remote, jointoken.TOKEN_NOT_VALID)
                return web.Response(status=401, text=jointoken.TOKEN_NOT_VALID + "\n")
            return await handler(request)
        return guarded

    async def bootstrap(self, request: web.Request) -> web.Response:
        log.info("sent the bootstrap data to a joining server (%s)", request.remote)
        return web.json_response(bootstrap.collect(self.data_dir))

    async def _body(self, request: web.Request) -> dict[str, Any]:
        data = await request.content.read(MAX_BODY + 1)
        if len(data) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(data))
        try:
            body = json.loads(data)
        except ValueError:
            raise web.HTTPBadRequest(text="the body is not JSON\n") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="the body is not a JSON object\n")
        name = body.get("name")
        if not isinstance(name, str) or not _MEMBER_NAME.match(name):
            raise web.HTTPBadRequest(text=f"invalid member name: {name!r}\n")
        peer_url = body.get("peerURL")
        if not isinstance(peer_url, str) or not _PEER_URL.match(peer_url) or int(peer_url.rsplit(":", 1)[1]) > 65535:
            raise web.HTTPBadRequest(text=f"invalid peerURL: {peer_url!r} (want https://HOST:PORT)\n")
        return body

    async def add_member(self, request: web.Request) -> web.Response:
        if self.etcd is None:
            return web.Response(status=404, text=NO_EMBEDDED_ETCD + "\n")
        body = await self._body(request)
        try:
            initial = await self.etcd.add_learner(body["name"], body["peerURL"])
        except EtcdctlError as e:
            return web.Response(status=UNAVAILABLE, text=f"cannot add the etcd member: {e}\n")
        return web.json_response({"initialCluster": initial})

    async def promote(self, request: web.Request) -> web.Response:
        if self.etcd is None:
            return web.Response(status=404, text=NO_EMBEDDED_ETCD + "\n")
        body = await self._body(request)
        name = body["name"]
        try:
            voting = await self.etcd.promote(name, body["peerURL"])
        except KeyError:
            return web.Response(status=404, text=f"no etcd member named {name}\n")
        except EtcdctlError as e:
            return web.Response(status=UNAVAILABLE, text=f"cannot promote the etcd member: {e}\n")
        if not voting:
            return web.Response(status=NOT_IN_SYNC, text=f"the etcd learner {name} has not caught up yet\n")
        return web.json_response({"promoted": name})
