"""kube-apiserver's "kubernetes service" controller with the lease endpoint reconciler.

Every `interval` seconds each API server makes sure default/kubernetes and kube-system/kube-dns
exist (system_services) (and once per start, the `kubelite` IngressClass: ingress_class.py), renews a lease on its advertised address (`ttl` seconds), and writes
the addresses of all unexpired leases as the Service's endpoints (endpoints.sync). With one
server that is its own address; several servers sharing a store each add theirs, and one that
stops removes its own lease and address (kube-apiserver's `--endpoint-reconciler-type=lease`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from kubelite.client import ApiClient
from kubelite.controlplane import endpoints
from kubelite.controlplane.ingress_class import ensure_ingress_class
from kubelite.controlplane.system_services import (
    ensure_service,
    kube_dns_service,
    kubernetes_service,
)

log = logging.getLogger(__name__)

INTERVAL = 10.0  # kube-apiserver's --endpoint-reconciler interval
LEASE_TTL = 15.0  # its DefaultEndpointReconcilerTTL


class Leases(Protocol):
    """Leases on API server addresses, shared by every server of the cluster."""

    async def renew(self, ip: str, ttl: float) -> None:
        """Hold a lease on `ip` for `ttl` more seconds."""

    async def current(self) -> list[str]:
        """The addresses whose leases have not expired."""

    async def remove(self, ip: str) -> None:
        """Give up the lease on `ip` (no error when there is none)."""


class KubernetesServiceController:
    """Keeps the control plane's Services and the `kubernetes` endpoints current."""

    def __init__(self, client: ApiClient, leases: Leases, *, service_cidr: str, advertise_ip: str,
                 port: int, interval: float = INTERVAL, ttl: float = LEASE_TTL) -> None:
        self.client = client
        self.leases = leases
        self.service_cidr = service_cidr
        self.advertise_ip = advertise_ip
        self.port = port
        self.interval = interval
        self.ttl = ttl
        self._task: asyncio.Task[None] | None = None
        self._ingress_class = False  # made (or found) once per start

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="kubernetes-service")

    async def reconcile(self) -> None:
        await ensure_service(self.client, kubernetes_service(self.service_cidr, self.port), reset=True)
        await ensure_service(self.client, kube_dns_service(self.service_cidr), reset=False)
        if not self._ingress_class:
            await ensure_ingress_class(self.client)
            self._ingress_class = True
        await self.leases.renew(self.advertise_ip, self.ttl)
        await endpoints.sync(self.client, await self.leases.current(), self.port)

    async def _loop(self) -> None:
        while True:
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - try again next interval
                log.warning("unable to sync the kubernetes service: %s", e)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop, and take this server's address out of the endpoints (as kube-apiserver's
        shutdown does), leaving the other servers' in."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        self._task = None
        try:
            await self.leases.remove(self.advertise_ip)
            await endpoints.sync(self.client, await self.leases.current(), self.port)
        except Exception as e:  # noqa: BLE001 - the lease expires anyway
            log.warning("removing %s from the kubernetes endpoints: %s", self.advertise_ip, e)
