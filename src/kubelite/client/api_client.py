"""The async API client every component uses to talk to the API server.

One aiohttp session (keep-alive), TLS with the cluster CA, a bearer token. Methods take a
registry `Kind` (or a name `resolve_kind` understands: "Pod", "pods", "po",
"deployments.apps") and return the registry's msgspec types, or plain dicts with `raw=True`.
Failures raise the `errors` hierarchy.

Given a `ServerPool` (client/servers.py), requests go to its current server; a server that
cannot be connected to is failed over, and a switch ends every request and watch still on
the old server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import os
import ssl
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import aiohttp
import msgspec

from kubelite.api.registry import KINDS, Kind
from kubelite.client.errors import error_from_status
from kubelite.client.kubeconfig import ClusterConfig, load_kubeconfig
from kubelite.client.servers import ServerPool

if TYPE_CHECKING:
    from kubelite.client.events import EventRecorder

T = TypeVar("T")

PatchType = Literal["merge", "strategic", "json", "apply"]

PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}

Obj = Any  # a msgspec Struct of the kind's type, or a dict when raw=True


def resolve_kind(kind: Kind | str) -> Kind:
    """A registry Kind from itself or from a kind name, plural, short name or plural.group."""
    if isinstance(kind, Kind):
        return kind
    low = kind.lower()
    for k in KINDS:
        if low in (k.kind.lower(), k.plural, f"{k.plural}.{k.group}") or low in k.short_names:
            return k
    raise KeyError(f'the server doesn\'t have a resource type "{kind}"')


def _meta(obj: Obj) -> dict[str, Any]:
    if isinstance(obj, dict):
        return dict(obj.get("metadata") or {})
    meta = getattr(obj, "metadata", None)
    return msgspec.to_builtins(meta) if meta is not None else {}


_IDENTITY_ATTRS = {"name": "name", "namespace": "namespace", "uid": "uid",
                   "resourceVersion": "resource_version"}


def _identity(obj: Obj, *extra: str) -> dict[str, Any]:
    """name, namespace and uid (and `extra` metadata fields) of a dict or a typed object,
    without converting the rest of its metadata (managedFields can be large)."""
    return {f: meta_field(obj, f, _IDENTITY_ATTRS[f]) for f in ("name", "namespace", "uid", *extra)}


def meta_field(obj: Obj, json_name: str, attr: str) -> Any:
    """One metadata field of a dict or a typed object, without copying the metadata."""
    if isinstance(obj, dict):
        return (obj.get("metadata") or {}).get(json_name)
    meta = getattr(obj, "metadata", None)
    return getattr(meta, attr, None) if meta is not None else None


def object_key(obj: Obj) -> str:
    """"namespace/name" (or "name" for cluster-scoped objects), as client-go keys caches."""
    ns = meta_field(obj, "namespace", "namespace")
    name = meta_field(obj, "name", "name")
    return f"{ns}/{name}" if ns else str(name)


class _WatchEvent(msgspec.Struct, Generic[T]):
    type: str
    object: T


@functools.cache
def _typed_event_decoder(kind: Kind) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(_WatchEvent[kind.type])  # type: ignore[name-defined]


@dataclass
class ListResult:
    """The items of a list and the list's resourceVersion (where a watch should start)."""

    items: list[Obj]
    resource_version: str
    extra: dict[str, Any] = field(default_factory=dict)


UNIX_SCHEME = "unix://"
# Seconds to connect (TCP and TLS handshake): a server that takes longer is failed over. Every
# request sets it, since a request's own ClientTimeout replaces the session's.
CONNECT_TIMEOUT = 10.0


def load_cert_data(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """Load a client certificate and key given as PEM bytes (a kubeconfig's `-data` fields).
    `ssl` reads them only from files: they are written to a private temporary directory
    (mode 0700), loaded, and removed at once."""
    with tempfile.TemporaryDirectory(prefix="kubelite-client-") as tmp:
        cert_path, key_path = os.path.join(tmp, "client.crt"), os.path.join(tmp, "client.key")
        for path, data in ((cert_path, cert_pem), (key_path, key_pem)):
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                f.write(data)
        ctx.load_cert_chain(cert_path, key_path)


class ApiClient:
    """An async Kubernetes API client over one keep-alive aiohttp session."""

    def __init__(self, server: str, token: str | None = None, ca_file: str | None = None,
                 insecure: bool = False, *, ca_data: bytes | None = None,
                 client_cert_file: str | None = None, client_key_file: str | None = None,
                 client_cert_data: bytes | None = None, client_key_data: bytes | None = None,
                 user_agent: str = "kubelite", servers: ServerPool | None = None) -> None:
        server = server.rstrip("/")
        # unix:///PATH: plain HTTP over a local socket (the server's own control loops use it)
        self._unix_path: str | None = None
        if server.startswith(UNIX_SCHEME):
            self._unix_path = server[len(UNIX_SCHEME):]
            server = "http://localhost"
        self.servers = servers or ServerPool(server)
        self.token = token
        self._ssl: ssl.SSLContext | bool | None = None
        if server.startswith("https"):
            if insecure:
                self._ssl = False
            else:
                ctx = ssl.create_default_context(
                    cafile=ca_file, cadata=ca_data.decode() if ca_data else None)
                if client_cert_file:
                    ctx.load_cert_chain(client_cert_file, client_key_file)
                elif client_cert_data and client_key_data:
                    load_cert_data(ctx, client_cert_data, client_key_data)
                self._ssl = ctx
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        self._recorders: dict[tuple[str, str], EventRecorder] = {}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._session: aiohttp.ClientSession | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self._responses: set[aiohttp.ClientResponse] = set()  # being read now
        self.servers.on_switch(self._server_switched)

    @classmethod
    def from_config(cls, config: ClusterConfig, *, user_agent: str = "kubelite") -> ApiClient:
        return cls(config.server, config.token, config.ca_file, config.insecure,
                   ca_data=config.ca_data, client_cert_file=config.client_cert_file,
                   client_key_file=config.client_key_file, client_cert_data=config.client_cert_data,
                   client_key_data=config.client_key_data, user_agent=user_agent)

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None) -> ApiClient:
        """A client for the kubeconfig kubectl would use (`--kubeconfig`, $KUBECONFIG, ~/.kube/config)."""
        return cls.from_config(load_kubeconfig(path, context))

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def server(self) -> str:
        """The URL of the API server requests go to now."""
        return self.servers.current

    def _server_switched(self, old: str, new: str) -> None:
        """Drop every connection to the old server: requests and watches on it end now with a
        ClientConnectionError (an informer re-watches on the new one) instead of waiting for
        TCP to notice. (Closing the session alone would leave a reader waiting forever:
        aiohttp drops the payload of a connection it closes without ending it.)"""
        for resp in list(self._responses):
            resp.content.set_exception(
                aiohttp.ClientConnectionError(f"left API server {old} for {new}"))
            resp.close()
        session, self._session = self._session, None
        if session is not None and not session.closed:
            task = asyncio.get_running_loop().create_task(_abort(session))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def healthy(self, server: str, timeout: float = 5.0) -> bool:
        """Whether `server` answers GET /readyz with 200 within `timeout` seconds."""
        try:
            async with self.session.get(server + "/readyz",
                                        timeout=aiohttp.ClientTimeout(total=timeout,
                                                                      sock_connect=CONNECT_TIMEOUT)) as resp:
                await resp.read()
                return resp.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    @contextlib.asynccontextmanager
    async def _send(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[aiohttp.ClientResponse]:
        """The response of the current server. A server that cannot be connected to (refused,
        unreachable, or no TLS handshake within `sock_connect`: nothing was sent, so any
        request may go elsewhere) is marked failed and the next one tried."""
        attempts = len(self.servers.servers)
        for attempt in range(attempts):
            base = self.server
            try:
                resp = await self.session.request(method, base + path, **kwargs)
            except aiohttp.ClientConnectorCertificateError:
                raise
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
                if attempt + 1 >= attempts or self.servers.failed(base) == base:
                    raise
                continue
            self.servers.succeeded(base)
            self._responses.add(resp)
            try:
                yield resp
            finally:
                self._responses.discard(resp)
                resp.release()
            return

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector: aiohttp.BaseConnector = (
                aiohttp.UnixConnector(path=self._unix_path) if self._unix_path
                else aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True))
            self._session = aiohttp.ClientSession(
                headers=self._headers, connector=connector,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT))
        return self._session

    def with_token(self, token: str | None, *, user_agent: str | None = None) -> ApiClient:
        """A client of the same server and TLS settings that authenticates with `token`
        instead (a component's own identity beside the process's)."""
        other = copy.copy(self)
        other._headers = dict(self._headers)
        if user_agent:
            other._headers["User-Agent"] = user_agent
        other._session, other._recorders, other._closing, other._responses = None, {}, set(), set()
        other.servers.on_switch(other._server_switched)
        other.set_token(token)
        return other

    def set_token(self, token: str | None) -> None:
        """Use `token` from the next request on (a refreshed one)."""
        self.token = token
        for headers in (self._headers, self._session.headers if self._session else None):
            if headers is None:
                continue
            if token:
                headers["Authorization"] = f"Bearer {token}"
            else:
                headers.pop("Authorization", None)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        for task in list(self._closing):
            with contextlib.suppress(Exception):
                await task

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def path(self, kind: Kind | str, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        """The URL path of a collection, an object or a subresource."""
        k = resolve_kind(kind)
        parts = [k.url_prefix()]
        if k.namespaced and namespace:
            parts.append(f"/namespaces/{namespace}")
        parts.append(f"/{k.plural}")
        if name:
            parts.append(f"/{name}")
            if subresource:
                parts.append(f"/{subresource}")
        return "".join(parts)

    async def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                      body: Any = None, content_type: str = "application/json",
                      timeout: float | None = 60) -> Any:
        """Send one request; return the decoded JSON body or raise an ApiError."""
        data = None
        headers = {}
        if body is not None:
            data = body if isinstance(body, bytes) else msgspec.json.encode(body)
            headers["Content-Type"] = content_type
        async with self._send(method, path, params=params, data=data, headers=headers,
                              timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=CONNECT_TIMEOUT)) as resp:
            payload = await resp.read()
            decoded: Any = None
            if payload:
                try:
                    decoded = msgspec.json.decode(payload)
                except msgspec.DecodeError:
                    decoded = payload.decode(errors="replace")
            if resp.status >= 400:
                raise error_from_status(resp.status, decoded)
            return decoded

    @staticmethod
    def _decode(kind: Kind, obj: dict[str, Any], raw: bool) -> Obj:
        return obj if raw else msgspec.convert(obj, kind.type)

    @staticmethod
    def _encode(kind: Kind, obj: Obj) -> dict[str, Any]:
        body: dict[str, Any] = obj if isinstance(obj, dict) else msgspec.to_builtins(obj)
        body = dict(body)
        body.setdefault("apiVersion", kind.api_version)
        body.setdefault("kind", kind.kind)
        return body

    # -- reads ------------------------------------------------------------------------------

    async def get(self, kind: Kind | str, name: str, namespace: str | None = None, *,
                  raw: bool = False) -> Obj:
        k = resolve_kind(kind)
        return self._decode(k, await self.request("GET", self.path(k, namespace, name)), raw)

    async def list(self, kind: Kind | str, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   resource_version: str | None = None, limit: int | None = None,
                   raw: bool = False) -> ListResult:
        """Every matching object (following `continue` pages) and the list's resourceVersion."""
        k = resolve_kind(kind)
        params: dict[str, str] = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        if resource_version is not None:
            params["resourceVersion"] = resource_version
        if limit:
            params["limit"] = str(limit)
        items: list[Obj] = []
        while True:
            doc = await self.request("GET", self.path(k, namespace), params=params)
            items.extend(self._decode(k, item, raw) for item in doc.get("items") or [])
            meta = doc.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                return ListResult(items, str(meta.get("resourceVersion") or ""))
            params["continue"] = token
            params.pop("resourceVersion", None)

    async def watch(self, kind: Kind | str, namespace: str | None = None, *,
                    resource_version: str | None = None, label_selector: str | None = None,
                    field_selector: str | None = None, allow_bookmarks: bool = True,
                    timeout: int | None = None, raw: bool = False,
                    ) -> AsyncIterator[tuple[str, Obj]]:
        """Yield (type, object) events until the server ends the stream.

        ERROR events carry the Status as a dict (a 410 there means "re-list"); BOOKMARK objects
        are decoded like the others and only their resourceVersion is meaningful.
        """
        k = resolve_kind(kind)
        params = {"watch": "true"}
        if resource_version is not None:
            params["resourceVersion"] = resource_version
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        if allow_bookmarks:
            params["allowWatchBookmarks"] = "true"
        if timeout is not None:
            params["timeoutSeconds"] = str(timeout)
        async with self._send("GET", self.path(k, namespace), params=params,
                              timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT)) as resp:
            if resp.status >= 400:
                payload = await resp.read()
                try:
                    body: Any = msgspec.json.decode(payload)
                except msgspec.DecodeError:
                    body = payload.decode(errors="replace")
                raise error_from_status(resp.status, body)
            buf = b""
            async for chunk in resp.content.iter_any():
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield self._event(k, line, raw)
            if buf.strip():
                yield self._event(k, buf, raw)

    def _event(self, kind: Kind, line: bytes, raw: bool) -> tuple[str, Obj]:
        if not raw:
            # Decode straight into the kind's type (one pass); ERROR events carry a Status
            # instead, and fall through to the generic path.
            try:
                typed = _typed_event_decoder(kind).decode(line)
                if typed.type != "ERROR":
                    return typed.type, typed.object
            except msgspec.ValidationError:
                pass
        event = msgspec.json.decode(line)
        etype = event.get("type", "")
        obj = event.get("object") or {}
        if etype == "ERROR":
            return etype, obj
        return etype, self._decode(kind, obj, raw)

    # -- writes -----------------------------------------------------------------------------

    async def create(self, kind: Kind | str, obj: Obj, namespace: str | None = None, *,
                     raw: bool = False, field_manager: str | None = None) -> Obj:
        k = resolve_kind(kind)
        ns = namespace or _meta(obj).get("namespace") or ("default" if k.namespaced else None)
        params = {"fieldManager": field_manager} if field_manager else None
        doc = await self.request("POST", self.path(k, ns), params=params, body=self._encode(k, obj))
        return self._decode(k, doc, raw)

    async def update(self, kind: Kind | str, obj: Obj, *, raw: bool = False,
                     subresource: str | None = None) -> Obj:
        """PUT the whole object; a stale metadata.resourceVersion raises Conflict."""
        k = resolve_kind(kind)
        meta = _meta(obj)
        path = self.path(k, meta.get("namespace"), meta["name"], subresource)
        return self._decode(k, await self.request("PUT", path, body=self._encode(k, obj)), raw)

    async def update_status(self, kind: Kind | str, obj: Obj, *, raw: bool = False) -> Obj:
        return await self.update(kind, obj, raw=raw, subresource="status")

    async def patch(self, kind: Kind | str, name: str, namespace: str | None, body: Any, *,
                    patch_type: PatchType = "merge", subresource: str | None = None,
                    field_manager: str | None = None, force: bool | None = None,
                    raw: bool = False) -> Obj:
        k = resolve_kind(kind)
        params: dict[str, str] = {}
        if field_manager:
            params["fieldManager"] = field_manager
        if force is not None:
            params["force"] = "true" if force else "false"
        doc = await self.request("PATCH", self.path(k, namespace, name, subresource),
                                 params=params, body=body,
                                 content_type=PATCH_CONTENT_TYPES[patch_type])
        return self._decode(k, doc, raw)

    async def delete(self, kind: Kind | str, name: str, namespace: str | None = None, *,
                     grace_period: int | None = None, propagation_policy: str | None = None,
                     preconditions: Mapping[str, str] | None = None) -> Any:
        """Delete an object; returns the server's answer (the object or a Status) as a dict."""
        k = resolve_kind(kind)
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period is not None:
            options["gracePeriodSeconds"] = grace_period
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = dict(preconditions)
        return await self.request("DELETE", self.path(k, namespace, name), body=options)

    async def bind(self, pod: Obj, node_name: str) -> None:
        """POST pods/NAME/binding, as kube-scheduler's DefaultBinder does."""
        meta = _identity(pod)
        binding = {
            "apiVersion": "v1", "kind": "Binding",
            "metadata": {k: v for k, v in meta.items() if v},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        await self.request("POST", self.path("pods", meta["namespace"], meta["name"], "binding"),
                           body=binding)

    def event_recorder(self, component: str, host: str = "") -> EventRecorder:
        """The shared recorder of `component` on `host`: repeats of its events are counted."""
        from kubelite.client.events import EventRecorder

        recorder = self._recorders.get((component, host))
        if recorder is None:
            recorder = self._recorders[(component, host)] = EventRecorder(self, component, host)
        return recorder

    async def create_event(self, involved: Obj, reason: str, message: str, *,
                           type: str = "Normal", component: str = "kubelite",
                           involved_kind: Kind | str | None = None, host: str | None = None,
                           action: str | None = None, raw: bool = False) -> Obj | None:
        """Record a core/v1 Event about an object (what `kubectl describe` lists under Events),
        through the component's shared recorder: a repeat updates the first event's count.
        None when the event was filtered as spam."""
        written = await self.event_recorder(component, host or "").record(
            involved, type, reason, message, action=action, involved_kind=involved_kind)
        if written is None or raw:
            return written
        return self._decode(resolve_kind("events"), written, raw)


async def _abort(session: aiohttp.ClientSession) -> None:
    """Close `session` without TLS goodbyes: a silent server would hold a graceful TLS close
    (and a request still waiting for its answer) for asyncio's 30 s shutdown timeout."""
    connector = session.connector
    if connector is not None:
        try:
            await connector.close(abort_ssl=True)  # type: ignore[call-arg, unused-ignore]
        except TypeError:  # aiohttp before 3.13 aborts TLS connections on close anyway
            await connector.close()
    await session.close()


async def sleep_backoff(attempt: int, base: float = 0.2, cap: float = 5.0) -> None:
    """Sleep base * 2**attempt seconds, at most cap: used between reconnect attempts."""
    await asyncio.sleep(min(cap, base * (2 ** attempt)))
