"""Cluster DNS as one component: informers on Services and EndpointSlices feeding the server."""

from __future__ import annotations

from typing import Any

from kubelite.client import ApiClient, Informer
from kubelite.client.informer import InformerView
from kubelite.dns.forward import Forwarder, host_nameservers
from kubelite.dns.records import ClusterRecords
from kubelite.dns.server import DnsHandler, DnsServer

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def _service_of(es: dict[str, Any]) -> list[str]:
    meta = es.get("metadata") or {}
    owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{meta.get('namespace')}/{owner}"] if owner else []


class ClusterDns:
    """Serves `NAME.NAMESPACE.svc.ZONE` on host:port and forwards other names upstream.

    `upstreams` default to the host's resolv.conf nameservers, minus our own address.
    """

    def __init__(self, client: ApiClient, host: str, port: int = 53, *, zone: str = "cluster.local",
                 upstreams: list[str] | None = None, forward_timeout: float = 1.0,
                 services: Informer | None = None) -> None:
        # A view of the caller's Services informer (shared with the kubelet), or one of its own.
        self.services = InformerView(services) if services else Informer(client, "services", raw=True)
        self.slices = Informer(client, "endpointslices", raw=True, indexers={"service": _service_of})
        self.records = ClusterRecords(
            lambda ns, name: self.services.get(f"{ns}/{name}"),
            lambda ns, name: self.slices.by_index("service", f"{ns}/{name}"), zone)
        if upstreams is None:
            upstreams = [ns for ns in host_nameservers() if ns != host]
        self.forwarder = Forwarder(upstreams, timeout=forward_timeout)
        self.server = DnsServer(DnsHandler(self.records, self.forwarder), host, port)

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        self.services.start()
        self.slices.start()
        await self.services.has_synced()
        await self.slices.has_synced()
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()
        await self.services.stop()
        await self.slices.stop()
