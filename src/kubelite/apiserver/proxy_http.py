"""pods/proxy and services/proxy: HTTP relayed from the API server to a pod, as kube-apiserver.

`/api/v1/namespaces/NS/pods/[SCHEME:]NAME[:PORT]/proxy/PATH` goes to the pod IP;
`.../services/[SCHEME:]NAME[:PORT]/proxy/PATH` to a random ready address of the service's
Endpoints, PORT being a service port name or number (pod and service registries'
ResourceLocation). The API server dials pod IPs directly, through the node's pod network.
"""

from __future__ import annotations

import ipaddress
import os
import random
from typing import Any

import aiohttp
from aiohttp import web

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.rest import ObjectStore
from kubelite.store.interface import StoreError

HOP_BY_HOP = frozenset(h.lower() for h in (
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "TE",
    "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length", "Authorization"))
CHUNK = 64 * 1024


def split_scheme_name_port(value: str) -> tuple[str, str, str] | None:
    """(scheme, name, port) of `[scheme:]name[:port]`, as apimachinery's SplitSchemeNamePort."""
    parts = value.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        return None
    if not name or scheme not in ("", "http", "https"):
        return None
    return scheme or "http", name, port


def _host(ip: str, port: str) -> str:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise st.BadRequest("address not allowed") from None
    shown = f"[{ip}]" if ":" in ip else ip
    return f"{shown}:{port}" if port else shown


def _kind(plural: str) -> Any:
    return by_resource("", "v1", plural)


async def _get(store: ObjectStore, plural: str, namespace: str, name: str) -> dict[str, Any]:
    return objects.decode(await store.get(_kind(plural), namespace, name))


async def pod_location(store: ObjectStore, namespace: str, id_: str) -> tuple[str, str]:
    parsed = split_scheme_name_port(id_)
    if parsed is None:
        raise st.BadRequest(f'invalid pod request "{id_}"')
    scheme, name, port = parsed
    pod = await _get(store, "pods", namespace, name)
    return scheme, _host(str((pod.get("status") or {}).get("podIP") or ""), port)


async def service_location(store: ObjectStore, namespace: str, id_: str) -> tuple[str, str]:
    parsed = split_scheme_name_port(id_)
    if parsed is None:
        raise st.BadRequest(f'invalid service request "{id_}"')
    scheme, name, port = parsed
    svc = await _get(store, "services", namespace, name)
    spec = svc.get("spec") or {}
    if port.isdigit():  # a port number: the service port's name
        named = [p for p in spec.get("ports") or [] if str(p.get("port")) == port]
        if not named:
            raise st.ServiceUnavailable(f'no service port {port} found for service "{name}"')
        port = str(named[0].get("name") or "")
    if spec.get("type") == "ExternalName":
        return scheme, f"{spec.get('externalName', '')}:{port}" if port else str(spec.get("externalName", ""))
    try:
        endpoints = await _get(store, "endpoints", namespace, name)
    except (st.NotFound, StoreError):
        endpoints = {}
    subsets = list(endpoints.get("subsets") or [])
    if not subsets:
        raise st.ServiceUnavailable(f'no endpoints available for service "{name}"')
    random.shuffle(subsets)
    for subset in subsets:
        addresses = list(subset.get("addresses") or [])  # ready addresses only
        random.shuffle(addresses)
        for p in subset.get("ports") or []:
            if (p.get("name") or "") == port:
                for address in addresses:
                    if address.get("ip"):
                        return scheme, _host(str(address["ip"]), str(p.get("port")))
    raise st.ServiceUnavailable(f'no endpoints available for service "{id_}"')


def proxy_tail(request: web.Request, path: ResourcePath) -> str:
    """The path after `NAME/proxy`, kept as the client encoded it."""
    segments = request.rel_url.raw_path.split("/")
    for i in range(len(segments) - 2):
        if segments[i] == path.kind.plural and segments[i + 2] == "proxy":
            return "/" + "/".join(segments[i + 3:])
    return "/"


class PodHttpProxy:
    """Relays one HTTP request to a pod and streams the answer back."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=False), auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None, connect=30, sock_connect=30))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def serve(self, request: web.Request, store: ObjectStore, path: ResourcePath) -> web.StreamResponse:
        assert path.namespace is not None and path.name is not None
        if path.kind.plural == "pods":
            scheme, host = await pod_location(store, path.namespace, path.name)
        elif path.kind.plural == "services":
            scheme, host = await service_location(store, path.namespace, path.name)
        else:
            raise st.NotFound("the server could not find the requested resource")
        url = f"{scheme}://{host}{proxy_tail(request, path)}"
        if request.rel_url.raw_query_string:
            url += "?" + request.rel_url.raw_query_string
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read() if request.body_exists else None
        try:
            upstream = await self._client().request(request.method, aiohttp.client.URL(url, encoded=True),
                                                    headers=headers, data=body, allow_redirects=False)
        except (aiohttp.ClientError, OSError) as e:
            raise st.ServiceUnavailable(f"error trying to reach service: {_dial_error(host, e)}") from e
        try:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for k, v in upstream.headers.items():
                if k.lower() not in HOP_BY_HOP:
                    response.headers.add(k, v)
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response
        finally:
            upstream.release()


def _dial_error(host: str, e: Exception) -> str:
    """Go's words for a failed dial ("dial tcp 10.42.0.5:8081: connect: connection refused")."""
    cause = e.__cause__ or e
    if isinstance(e, aiohttp.ClientConnectorError):
        cause = e.os_error
    if isinstance(cause, OSError) and cause.errno:
        text = os.strerror(cause.errno)
        return f"dial tcp {host}: connect: {text[:1].lower()}{text[1:]}"
    return str(e) or type(e).__name__
