"""The node side of the built-in Ingress controller, run by the agent.

Watches Ingresses, IngressClasses, Services and EndpointSlices; after any change (batched for
`batch_delay` seconds) builds the routing table (model.py), fetches the TLS Secrets it names
(the Node authorizer lets every node read the Secrets of Ingresses' `spec.tls`, node_graph.py),
renders haproxy's configuration and, if it differs, writes it atomically after `haproxy -c`
accepted it and reloads haproxy (process.py) without dropping connections. Secrets are read
again every `secret_refresh` seconds (a renewed certificate is served within that time), and
missing ones sooner. Requests go straight to the endpoints' pod IPs, on any node.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import logging
import pwd
import time
from pathlib import Path
from typing import Any

from kubelite.client import ApiClient, ApiError, Informer
from kubelite.client.informer import InformerView
from kubelite.ingress import haproxy
from kubelite.ingress.certificates import BadSecret, CertificateDir, pem_of, write_private
from kubelite.ingress.model import PORTS_ANNOTATION, Table, TlsEntry, build
from kubelite.ingress.process import Haproxy, ProxyError, check

log = logging.getLogger(__name__)
SECRET_REFRESH = 60.0
MISSING_RETRY = 5.0
WORKER_USER = "haproxy"  # made by Debian's haproxy package


def worker_user() -> str:
    """haproxy's workers run as the `haproxy` user and group when they exist (the master stays
    root: it reads the root-only certificate files at each reload)."""
    try:
        pwd.getpwnam(WORKER_USER)
        grp.getgrnam(WORKER_USER)
    except KeyError:
        return ""
    return WORKER_USER


class NodeIngress:
    """Serves every Ingress of the `kubelite` class on this node's `http_port`/`https_port`."""

    def __init__(self, client: ApiClient, state_dir: Path, run_dir: Path, *, http_port: int, https_port: int,
                 services: Informer | None = None, batch_delay: float = 0.05,
                 secret_refresh: float = SECRET_REFRESH) -> None:
        self.client = client
        self.dir = state_dir
        self.http_port = http_port
        self.https_port = https_port
        self.batch_delay = batch_delay
        self.secret_refresh = secret_refresh
        self.services = InformerView(services) if services else Informer(client, "services", raw=True)
        self.slices = Informer(client, "endpointslices", raw=True)
        self.ingresses = Informer(client, "ingresses", raw=True)
        self.classes = Informer(client, "ingressclasses", raw=True)
        self.informers = (self.services, self.slices, self.ingresses, self.classes)
        self.config_file = state_dir / "haproxy.cfg"
        self.proxy = Haproxy(self.config_file, state_dir / "haproxy.log", run_dir / "haproxy-master.sock")
        self.certs: CertificateDir | None = None
        self.applied = ""
        self.syncs = 0
        self._secrets: dict[tuple[str, str], tuple[float, bytes | None]] = {}  # fetched at, PEM
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        for informer in self.informers:
            informer.on_add(self._mark)
            informer.on_update(self._mark)
            informer.on_delete(self._mark)

    def _mark(self, *_: Any) -> None:
        self._changed.set()

    @property
    def listen(self) -> haproxy.Listen:
        crt_list = str(self.certs.crt_list) if self.certs and self.https_port else ""
        return haproxy.Listen(self.http_port, self.https_port if crt_list else 0, crt_list, user=worker_user())

    async def start(self) -> None:
        """List and watch, write the first configuration, start haproxy, keep it in step."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.proxy.socket.parent.mkdir(parents=True, exist_ok=True)
        if self.https_port:
            self.certs = CertificateDir(self.dir / "certs")
        self._tasks += [informer.start() for informer in self.informers]
        for informer in self.informers:
            await informer.has_synced()
        await self.sync()
        await self.proxy.start()
        self._tasks.append(asyncio.create_task(self._loop(), name="ingress-sync"))

    def table(self) -> Table:
        return build(self.ingresses.list(), self.classes.list(), self.services.list(), self.slices.list())

    async def _pem(self, entry: TlsEntry, now: float) -> bytes | None:
        key = (entry.namespace, entry.secret)
        cached = self._secrets.get(key)
        if cached is not None:
            fetched, pem = cached
            if now - fetched < (self.secret_refresh if pem is not None else MISSING_RETRY):
                return pem
        pem = None
        try:
            pem = pem_of(await self.client.get("secrets", entry.secret, entry.namespace, raw=True))
        except BadSecret as e:
            log.warning("ingress: Secret %s/%s is not served: %s", entry.namespace, entry.secret, e)
        except ApiError as e:
            log.info("ingress: Secret %s/%s cannot be read: %s", entry.namespace, entry.secret, e)
        self._secrets[key] = (now, pem)
        return pem

    async def _certificates(self, table: Table) -> bool:
        if self.certs is None:
            return False
        now = time.monotonic()
        pems: dict[tuple[str, str], bytes] = {}
        for entry in table.tls:
            pem = await self._pem(entry, now)
            if pem is not None:
                pems[(entry.namespace, entry.secret)] = pem
        wanted = {(e.namespace, e.secret) for e in table.tls}
        for key in set(self._secrets) - wanted:
            del self._secrets[key]
        return self.certs.write(table.tls, pems)

    async def sync(self) -> bool:
        """Render and apply now; True when haproxy was given a new configuration."""
        self._changed.clear()
        table = self.table()
        certs_changed = await self._certificates(table)
        text = haproxy.render(table, self.listen)
        if text == self.applied and not certs_changed:
            return False
        candidate = self.config_file.with_name("haproxy.cfg.new")
        write_private(candidate, text.encode())
        await check(candidate)
        candidate.replace(self.config_file)
        await self.proxy.reload()
        self.applied = text
        self.syncs += 1
        return True

    async def _loop(self) -> None:
        while True:
            missing = any(pem is None for _, pem in self._secrets.values())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(),
                                       timeout=MISSING_RETRY if missing else self.secret_refresh)
            await asyncio.sleep(self.batch_delay)
            try:
                await self.sync()
            except asyncio.CancelledError:
                raise
            except (ProxyError, OSError) as e:
                log.warning("ingress: the new configuration was not applied: %s", e)
                await asyncio.sleep(1.0)
            except Exception:  # noqa: BLE001 - keep serving the last good configuration
                log.exception("ingress: sync failed")
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for informer in self.informers:
            await informer.stop()
        await self.proxy.stop()


async def publish_ports(client: ApiClient, node_name: str, ports: tuple[int, int] | None) -> None:
    """Say on the Node which ports its Ingress proxy serves (None: it serves none)."""
    value = f"{ports[0]},{ports[1]}" if ports else None
    await client.patch("nodes", node_name, None, {"metadata": {"annotations": {PORTS_ANNOTATION: value}}}, raw=True)
