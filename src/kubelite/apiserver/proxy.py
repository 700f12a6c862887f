"""pods/log, exec, attach and portforward: proxied to the kubelet of the pod's node.

The pod names the node (`spec.nodeName`), the Node names the kubelet (`status.addresses`
InternalIP and `status.daemonEndpoints.kubeletEndpoint.Port`). We call it over HTTPS with
our kubelet-client certificate. Logs are streamed through; exec/attach are terminated here
(kubectl's WebSocket v5/v4 or SPDY/3.1) and relayed to a v5 WebSocket to the kubelet;
port-forward is relayed as bytes (proxy_portforward). pods/proxy and services/proxy go to
the pod itself (proxy_http).
"""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp import web

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver import objects, proxy_http, proxy_portforward, ws_stream
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.proxy_spdy import SpdyClient, expected_streams, negotiate
from kubelite.apiserver.proxy_stream import WebSocketClient, relay
from kubelite.apiserver.proxy_tls import kubelet_client_context
from kubelite.apiserver.query import query_int64
from kubelite.apiserver.rest import ObjectStore
from kubelite.client.streams import channels
from kubelite.client.streams.spdy_conn import is_spdy_upgrade

log = logging.getLogger("kubelite.apiserver.proxy")

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
DEFAULT_KUBELET_PORT = 10250
LOG_PARAMS = ("follow", "previous", "tailLines", "sinceSeconds", "sinceTime", "timestamps", "limitBytes")


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


def _names(items: list[dict[str, Any]]) -> str:
    """A Go-formatted list of names, as Kubernetes prints them: [a b]."""
    return "[" + " ".join(str(c.get("name", "")) for c in items) + "]"


def choose_container(pod: dict[str, Any], requested: str | None) -> str:
    """The container a request means, with kube-apiserver's messages when it cannot tell."""
    name = pod.get("metadata", {}).get("name", "")
    spec = pod.get("spec", {})
    containers = spec.get("containers") or []
    init = spec.get("initContainers") or []
    ephemeral = spec.get("ephemeralContainers") or []
    if requested:
        if any(c.get("name") == requested for c in [*containers, *init, *ephemeral]):
            return requested
        raise st.BadRequest(f"container {requested} is not valid for pod {name}")
    default = (pod.get("metadata", {}).get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION)
    if default and any(c.get("name") == default for c in containers):
        return str(default)
    if len(containers) == 1:
        return str(containers[0].get("name", ""))
    message = f"a container name must be specified for pod {name}, choose one of: {_names(containers)}"
    if init:
        message += f" or one of the init containers: {_names(init)}"
    if ephemeral:
        message += f" or one of the ephemeral containers: {_names(ephemeral)}"
    raise st.BadRequest(message)


def kubelet_address(node: dict[str, Any]) -> tuple[str, int]:
    """(host, port) of a node's kubelet: InternalIP first, as kube-apiserver prefers by default."""
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or DEFAULT_KUBELET_PORT
    for kind in ("InternalIP", "ExternalIP", "Hostname", "InternalDNS", "ExternalDNS"):
        for a in addresses:
            if a.get("type") == kind and a.get("address"):
                return str(a["address"]), int(port)
    name = node.get("metadata", {}).get("name", "")
    raise st.ServiceUnavailable(f'no preferred addresses found; known addresses: [] for node "{name}"')


def _kind(plural: str) -> Kind:
    kind = by_resource("", "v1", plural)
    assert kind is not None
    return kind


def _error_from_kubelet(code: int, body: bytes) -> st.ApiError:
    """A Status error for a kubelet refusal, keeping its message (and Status, if it sent one)."""
    message = body.decode(errors="replace").strip()
    with contextlib.suppress(ValueError):
        parsed = json.loads(body)
        if isinstance(parsed, dict) and parsed.get("kind") == "Status":
            message = str(parsed.get("message", message))
    classes: dict[int, type[st.ApiError]] = {
        400: st.BadRequest, 401: st.Unauthorized, 403: st.Forbidden, 404: st.NotFound,
        503: st.ServiceUnavailable,
    }
    return classes.get(code, st.InternalError)(message)


class KubeletProxy:
    """The `subresources` handler of `ResourceHandlers` for log, exec and attach."""

    def __init__(self, objects_store: ObjectStore, tls_dir: Path) -> None:
        self.objects = objects_store
        self.tls_dir = tls_dir
        self._session: aiohttp.ClientSession | None = None
        self._ssl: ssl.SSLContext | None = None
        self.http = proxy_http.PodHttpProxy()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = kubelet_client_context(self.tls_dir)
        return self._ssl

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl_context())
            self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(
                total=None, connect=10, sock_connect=10))
        return self._session

    async def close(self) -> None:
        await self.http.close()
        if self._session is not None:
            await self._session.close()

    async def handle(self, request: web.Request, path: ResourcePath) -> web.StreamResponse:
        if path.subresource == "proxy" and path.name is not None and path.namespace is not None:
            return await self.http.serve(request, self.objects, path)
        if path.kind.plural != "pods" or path.name is None or path.namespace is None:
            raise st.NotFound("the server could not find the requested resource")
        sub = path.subresource
        if sub == "log" and request.method == "GET":
            return await self._logs(request, path.namespace, path.name)
        if sub in ("exec", "attach") and request.method in ("GET", "POST"):
            return await self._stream(request, path.namespace, path.name, sub)
        if sub == "portforward" and request.method in ("GET", "POST"):
            return await self._port_forward(request, path.namespace, path.name)
        if sub in ("exec", "attach", "log", "portforward"):
            raise st.MethodNotAllowed("the server does not allow this method on the requested resource")
        raise st.NotFound(f"the server could not find the requested resource ({sub} is not supported)")

    async def _target(self, request: web.Request, namespace: str, name: str) -> tuple[str, str, int]:
        """(container, kubelet host, kubelet port) for a pod request."""
        pod = objects.decode(await self.objects.get(_kind("pods"), namespace, name))
        container = choose_container(pod, request.query.get("container"))
        return (container, *await self._kubelet_of(pod))

    async def _kubelet_of(self, pod: dict[str, Any]) -> tuple[str, int]:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            raise st.BadRequest(f"pod {pod['metadata']['name']} does not have a host assigned")
        node = objects.decode(await self.objects.get(_kind("nodes"), None, node_name))
        return kubelet_address(node)

    async def _port_forward(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        pod = objects.decode(await self.objects.get(_kind("pods"), namespace, name))
        host, port = await self._kubelet_of(pod)
        path = "/" + "/".join(quote(p, safe="") for p in ("portForward", namespace, name))
        try:
            return await proxy_portforward.serve(request, host, port, path, self._ssl_context())
        except proxy_portforward.KubeletRefused as e:
            raise _error_from_kubelet(e.code, e.body) from e

    @staticmethod
    def _url(host: str, port: int, *parts: str) -> str:
        host = f"[{host}]" if ":" in host else host
        return f"https://{host}:{port}/" + "/".join(quote(p, safe="") for p in parts)

    # ----- logs

    async def _logs(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        q = request.query
        if q.get("sinceSeconds") and q.get("sinceTime"):
            raise st.BadRequest("at most one of `sinceTime` or `sinceSeconds` may be specified")
        for field in ("tailLines", "limitBytes", "sinceSeconds"):
            number = query_int64(q, field)  # int64 as PodLogOptions has them, else 400
            if number is not None:
                if number < 0 or (number == 0 and field != "tailLines"):
                    raise st.Invalid(f'PodLogOptions "{name}" is invalid: {field}: Invalid value: {number}: '
                                     f'must be greater than {"or equal to " if field == "tailLines" else ""}0')
        websocket = request.headers.get("Upgrade", "").lower() == "websocket"
        protocol = ws_stream.reader_protocol(request) if websocket else ""
        container, host, port = await self._target(request, namespace, name)
        query = {k: q[k] for k in LOG_PARAMS if k in q}
        url = self._url(host, port, "containerLogs", namespace, name, container)
        try:
            upstream = await self._client().get(url, params=query)
        except aiohttp.ClientError as e:
            raise st.InternalError(f"Get \"{url}\": {e}") from e
        try:
            if upstream.status != 200:
                raise _error_from_kubelet(upstream.status, await upstream.read())
            if websocket:  # as kube-apiserver's wsstream.Reader
                return await ws_stream.copy(request, protocol, upstream.content.iter_any())
            response = web.StreamResponse(headers={"Content-Type": "text/plain"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            with contextlib.suppress(ConnectionError, aiohttp.ClientError):
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
            with contextlib.suppress(ConnectionError):
                await response.write_eof()
            return response
        finally:
            upstream.release()

    # ----- exec / attach

    async def _stream(self, request: web.Request, namespace: str, name: str, sub: str) -> web.StreamResponse:
        q = request.query
        stdin, stdout, stderr, tty = (_flag(request, n) for n in ("stdin", "stdout", "stderr", "tty"))
        command = q.getall("command", [])
        if sub == "exec" and not command:
            raise st.BadRequest("you must specify at least one command for the container")
        if not (stdin or stdout or stderr):
            raise st.BadRequest("you must specify at least 1 of stdin, stdout, stderr")
        spdy_client = is_spdy_upgrade(request)
        ws = web.WebSocketResponse(protocols=(*channels.WEBSOCKET_PROTOCOLS, channels.BASE64_V4),
                                   autoping=True, compress=False, max_msg_size=0)
        spdy_protocol: str | None = None
        if spdy_client:
            spdy_protocol = negotiate(request)
            if spdy_protocol is None:
                offered = request.headers.getall("X-Stream-Protocol-Version", [])
                raise st.Forbidden(f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
                                   "server supports [v4.channel.k8s.io v5.channel.k8s.io]")
        else:
            ready = ws.can_prepare(request)
            if not ready.ok:
                raise st.BadRequest("Upgrade request required")
            if ready.protocol is None:
                raise st.BadRequest("unable to upgrade: none of the offered subprotocols is supported "
                                    "(v5.channel.k8s.io, v4.channel.k8s.io)")
        container, host, port = await self._target(request, namespace, name)
        query: list[tuple[str, str]] = [("command", c) for c in command]
        query += [(n, "true") for n, v in (("stdin", stdin), ("stdout", stdout), ("stderr", stderr), ("tty", tty)) if v]
        url = self._url(host, port, sub, namespace, name, container) + "?" + urlencode(query)
        try:
            upstream = await self._client().ws_connect(url, protocols=(channels.V5,), autoping=True,
                                                       max_msg_size=0, heartbeat=None)
        except aiohttp.WSServerHandshakeError as e:
            raise _error_from_kubelet(e.status, f"error dialing backend: the kubelet answered {e.status} "
                                      f"to the {sub} upgrade".encode()) from e
        except aiohttp.ClientError as e:
            raise st.InternalError(f"error dialing backend: {e}") from e
        if spdy_client:
            assert spdy_protocol is not None
            client = SpdyClient(request, expected_streams(stdin=stdin, stdout=stdout, stderr=stderr, tty=tty))
            response = await client.accept(spdy_protocol)
            await relay(client, upstream)
            return response
        await ws.prepare(request)
        await relay(WebSocketClient(ws), upstream)
        return ws
