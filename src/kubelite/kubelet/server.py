"""The kubelet's HTTPS server: container logs, exec and attach for the API server.

Every request except `/healthz` is authenticated (a client certificate signed by the cluster
CA, or a bearer token checked by TokenReview) and authorized by a SubjectAccessReview on
nodes/proxy, nodes/stats, nodes/log... (server_auth.py), as the kubelet's webhook modes: no
credential 401, refused 403. Without `auth` (tests of the handlers alone), only the API
server's client certificate (CN `kube-apiserver-kubelet-client`) is let in. exec/attach speak the channel WebSocket
(v5.channel.k8s.io, v4.channel.k8s.io); the API server translates kubectl's SPDY.
Other components add routes (e.g. `/stats/summary`) with `add_route` before `start()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

from kubelite.client.streams import channels, status
from kubelite.client.streams.spdy_conn import is_spdy_upgrade
from kubelite.kubelet.server_auth import (
    Caller,
    WebhookAuth,
    access,
    certificate_caller,
    forbidden_message,
)
from kubelite.kubelet.server_backend import LogOptions, Process, StreamBackend
from kubelite.kubelet.server_exec import serve_process
from kubelite.kubelet.server_portforward import PROTOCOL as PORT_FORWARD_PROTOCOL
from kubelite.kubelet.server_portforward import PortForwardSession, negotiate
from kubelite.kubelet.server_tls import (
    API_SERVER_CLIENT_CN,
    ensure_serving_cert,
    peer_common_name,
    server_context,
)

__all__ = ["KubeletServer", "LogOptions", "Process", "StreamBackend"]

log = logging.getLogger("kubelite.kubelet.server")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC_PATHS = frozenset({"/healthz"})
# How long a log request waits for its first bytes before answering 200 anyway: a refusal
# (no such container...) comes at once, and a followed silent container must not hold the
# response headers (a WebSocket handshake in the API server waits for them, and a browser
# opens one WebSocket at a time per server).
FIRST_CHUNK_WAIT = 0.5


class HttpError(Exception):
    """Answered as a Kubernetes Status with this code and reason."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def status_response(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    return web.Response(body=json.dumps(body).encode(), status=code, content_type="application/json")


def _backend_error(e: Exception) -> HttpError:
    message = str(e.args[0]) if e.args else str(e)
    if isinstance(e, LookupError):
        return HttpError(404, "NotFound", message)
    if isinstance(e, ValueError):
        return HttpError(400, "BadRequest", message)
    return HttpError(500, "InternalError", message)


def _bool(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


def _int(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise HttpError(400, "BadRequest", f'{name}: Invalid value: "{value}": must be an integer') from None


class KubeletServer:
    """The kubelet's port (10250 by default) over `backend`."""

    def __init__(
        self,
        backend: StreamBackend,
        *,
        host: str = "0.0.0.0",
        port: int = 10250,
        ca_file: Path,
        data_dir: Path,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        serving_ca_key: Path | None = None,
        auth: WebhookAuth | None = None,
    ) -> None:
        """`ca_file` verifies client certificates; the serving certificate is `cert_file`/`key_file`
        if given, else made in `data_dir/pki` (signed by `ca_file` when `serving_ca_key` is its key)."""
        self.backend = backend
        self.host = host
        self._wanted_port = port
        self.port = 0
        self.ca_file = ca_file
        self.data_dir = data_dir
        self._cert_file, self._key_file, self._serving_ca_key = cert_file, key_file, serving_ca_key
        self.auth = auth
        self.app = web.Application(middlewares=[self._errors, self._authenticate])
        r = self.app.router
        r.add_get("/healthz", self._healthz)
        r.add_get("/containerLogs/{namespace}/{pod}/{container}", self._logs)
        for method in ("GET", "POST"):
            r.add_route(method, "/exec/{namespace}/{pod}/{container}", self._exec)
            r.add_route(method, "/attach/{namespace}/{pod}/{container}", self._attach)
            r.add_route(method, "/portForward/{namespace}/{pod}", self._port_forward)
            r.add_route(method, "/portForward/{namespace}/{pod}/{uid}", self._port_forward)
        self._runner: web.AppRunner | None = None

    def add_route(self, method: str, path: str, handler: Handler) -> None:
        """Serve another kubelet path (before `start`); it is authenticated like the rest."""
        self.app.router.add_route(method, path, handler)

    async def start(self) -> None:
        if self._cert_file and self._key_file:
            crt, key = self._cert_file, self._key_file
        else:
            hosts = [self.host] if self.host not in ("0.0.0.0", "::", "") else []
            crt, key = ensure_serving_cert(
                self.data_dir / "pki", hosts,
                ca_cert_file=self.ca_file if self._serving_ca_key else None,
                ca_key_file=self._serving_ca_key,
            )
        ctx = server_context(crt, key, self.ca_file)
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._wanted_port, ssl_context=ctx, reuse_address=True)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None)
        self.port = sockets[0].getsockname()[1] if sockets else self._wanted_port
        log.info("kubelet server listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ----- middlewares

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except HttpError as e:
            return status_response(e.code, e.reason, e.message)
        except web.HTTPNotFound:
            return status_response(404, "NotFound", "the server could not find the requested resource")
        except web.HTTPMethodNotAllowed:
            return status_response(405, "MethodNotAllowed", "the server does not allow this method")

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS:
            return await handler(request)
        transport = request.transport
        peercert = transport.get_extra_info("peercert") if transport else None
        wanted = access(request.method, request.path)
        if self.auth is None:
            cn = peer_common_name(peercert)
            if cn is None:
                raise HttpError(401, "Unauthorized", "Unauthorized")
            if cn != API_SERVER_CLIENT_CN:
                raise HttpError(403, "Forbidden", forbidden_message(Caller(cn, ()), wanted))
            return await handler(request)
        caller = certificate_caller(peercert)
        header = request.headers.get("Authorization", "")
        if caller is None and header.startswith("Bearer "):
            caller = await self.auth.authenticate_token(header[len("Bearer "):].strip())
        if caller is None:
            raise HttpError(401, "Unauthorized", "Unauthorized")
        if not await self.auth.authorize(caller, wanted):
            raise HttpError(403, "Forbidden", forbidden_message(caller, wanted))
        return await handler(request)

    # ----- handlers

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        m = request.match_info
        opts = LogOptions(
            follow=_bool(request, "follow"), previous=_bool(request, "previous"),
            tail_lines=_int(request, "tailLines"), since_seconds=_int(request, "sinceSeconds"),
            since_time=request.query.get("sinceTime") or None, timestamps=_bool(request, "timestamps"),
            limit_bytes=_int(request, "limitBytes"),
        )
        chunks = self.backend.container_logs(
            m["namespace"], m["pod"], m["container"], follow=opts.follow, previous=opts.previous,
            tail_lines=opts.tail_lines, since_seconds=opts.since_seconds, since_time=opts.since_time,
            timestamps=opts.timestamps, limit_bytes=opts.limit_bytes,
        )
        pending = asyncio.ensure_future(self._first_chunk(chunks))
        try:
            await asyncio.wait((pending,), timeout=FIRST_CHUNK_WAIT)
            if pending.done():
                pending.result()  # a refusal is the response's status
        except BaseException:
            pending.cancel()
            raise
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        try:
            await response.prepare(request)
            first = await pending
            if first:
                await response.write(first)
            async for chunk in chunks:
                await response.write(chunk)
        except (ConnectionError, OSError):
            return response
        finally:
            if not pending.done():  # (the generator must not be running when it is closed)
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
        await response.write_eof()
        return response

    @staticmethod
    async def _first_chunk(chunks: AsyncIterator[bytes]) -> bytes:
        try:
            return await chunks.__anext__()
        except StopAsyncIteration:
            return b""
        except Exception as e:  # noqa: BLE001 - the backend's refusal becomes a Status
            raise _backend_error(e) from e

    def _stream_flags(self, request: web.Request) -> tuple[bool, bool, bool, bool]:
        stdin, stdout, stderr, tty = (_bool(request, n) for n in ("stdin", "stdout", "stderr", "tty"))
        if not (stdin or stdout or stderr):
            raise HttpError(400, "BadRequest", "you must specify at least 1 of stdin, stdout, stderr")
        return stdin, stdout, stderr and not tty, tty

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        command = request.query.getall("command", [])
        if not command:
            raise HttpError(400, "BadRequest", "you must specify at least one command for the container")
        return await self._session(request, command)

    async def _attach(self, request: web.Request) -> web.StreamResponse:
        return await self._session(request, None)

    async def _session(self, request: web.Request, command: list[str] | None) -> web.StreamResponse:
        stdin, stdout, stderr, tty = self._stream_flags(request)
        ws = web.WebSocketResponse(protocols=(*channels.WEBSOCKET_PROTOCOLS, channels.BASE64_V4),
                                   autoping=True, compress=False, max_msg_size=0)
        ready = ws.can_prepare(request)
        if not ready.ok:
            raise HttpError(400, "BadRequest", "Upgrade request required: this kubelet speaks "
                            "WebSocket (v5.channel.k8s.io, v4.channel.k8s.io)")
        if ready.protocol is None:
            raise HttpError(400, "BadRequest", "unable to upgrade: none of the offered channel "
                            "protocols is supported (v5.channel.k8s.io, v4.channel.k8s.io)")
        m = request.match_info
        try:
            if command is not None:
                process: Process = await self.backend.exec(
                    m["namespace"], m["pod"], m["container"], command, tty=tty, stdin=stdin)
            else:
                process = await self.backend.attach(m["namespace"], m["pod"], m["container"], tty=tty, stdin=stdin)
        except Exception as e:  # noqa: BLE001 - the backend's refusal becomes the session's Status
            # Answered after the upgrade, on the error channel, so that it reaches kubectl through
            # the API server word for word (a refused upgrade would lose the body on the way).
            err = _backend_error(e)
            await ws.prepare(request)
            body = status.failure(err.message, err.reason, err.code)
            await ws.send_bytes(channels.encode(channels.ERROR, status.encode(body)))
            await ws.close()
            return ws
        await ws.prepare(request)
        await serve_process(ws, process, stdin=stdin, stdout=stdout, stderr=stderr,
                            kill_on_disconnect=command is not None, command=command)
        return ws

    async def _port_forward(self, request: web.Request) -> web.StreamResponse:
        """SPDY/3.1 portforward.k8s.io (the API server tunnels kubectl's WebSocket into it)."""
        if not is_spdy_upgrade(request):
            raise HttpError(400, "BadRequest", "Upgrade request required: this kubelet speaks SPDY/3.1 "
                            f"({PORT_FORWARD_PROTOCOL}) for port-forward")
        if not negotiate(request):
            offered = request.headers.getall("X-Stream-Protocol-Version", [])
            raise HttpError(403, "Forbidden", f"unable to upgrade: unable to negotiate protocol: client "
                            f"supports {offered}, server supports [{PORT_FORWARD_PROTOCOL}]")
        m = request.match_info
        try:
            target = self.backend.port_forward(m["namespace"], m["pod"])
        except LookupError:
            raise HttpError(404, "NotFound", "pod does not exist") from None
        session = PortForwardSession(request, target.dial, target.sandbox_id)
        response = await session.accept(PORT_FORWARD_PROTOCOL)
        await session.serve()
        return response
