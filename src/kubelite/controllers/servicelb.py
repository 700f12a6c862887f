"""ServiceLB: LoadBalancer Services get the nodes' addresses (k3s' ServiceLB, without pods).

For a Service of `type: LoadBalancer` without `spec.loadBalancerClass` (a class names another
implementation, which is left to it), `status.loadBalancer.ingress` lists the addresses of the
Ready nodes, `ipMode: VIP`; with `externalTrafficPolicy: Local` only the nodes with a ready
endpoint of the Service, as only they answer. The nodes' service proxy (proxy/ruleset.py) does
the answering. A Service that is no longer a LoadBalancer has its status cleared, as
Kubernetes' service controller does.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.client import NotFound
from kubelite.controllers.loadbalancer import current_ips, node_addresses
from kubelite.controllers.podutil import Obj, key_of, meta
from kubelite.controllers.shared import SharedController, SharedInformers
from kubelite.proxy.model import SERVICE_NAME_LABEL

log = logging.getLogger(__name__)
LOAD_BALANCER = "LoadBalancer"


def handled(service: Obj) -> bool:
    spec = service.get("spec") or {}
    return spec.get("type") == LOAD_BALANCER and not spec.get("loadBalancerClass")


def local_nodes(slices: list[Obj]) -> set[str]:
    """Nodes with a ready endpoint in these EndpointSlices."""
    return {ep["nodeName"] for es in slices for ep in es.get("endpoints") or []
            if ep.get("nodeName") and (ep.get("conditions") or {}).get("ready", True)}


def wanted_ips(service: Obj, nodes: list[Obj], slices: list[Obj]) -> list[str]:
    if not handled(service):
        return []
    local = (service.get("spec") or {}).get("externalTrafficPolicy") == "Local"
    return node_addresses(nodes, local_nodes(slices) if local else None)


class ServiceLBController(SharedController):
    name = "service-lb"

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)

    def setup(self) -> None:
        self.services = self.informer("services", raw=True)
        self.nodes = self.informer("nodes", raw=True)
        self.slices = self.informer("endpointslices", raw=True)
        self.services.on_add(self._enqueue)
        self.services.on_update(lambda old, new: self._enqueue(new))
        for informer in (self.nodes, self.slices):
            informer.on_add(lambda _o: self._enqueue_all())
            informer.on_update(lambda _old, _new: self._enqueue_all())
            informer.on_delete(lambda _o: self._enqueue_all())

    def _enqueue(self, service: Obj) -> None:
        if handled(service) or current_ips(service):
            self.queue.add(key_of(service))

    def _enqueue_all(self) -> None:
        for service in self.services.list():
            if handled(service):
                self.queue.add(key_of(service))

    def _slices_of(self, namespace: str, name: str) -> list[Obj]:
        return [es for es in self.slices.list() if meta(es).get("namespace") == namespace
                and (meta(es).get("labels") or {}).get(SERVICE_NAME_LABEL) == name]

    async def reconcile(self, key: str) -> float | None:
        service = self.services.get(key)
        if service is None:
            return None
        spec = service.get("spec") or {}
        if spec.get("type") == LOAD_BALANCER and spec.get("loadBalancerClass"):
            return None  # another implementation's
        namespace, name = key.split("/", 1)
        ips = wanted_ips(service, self.nodes.list(), self._slices_of(namespace, name))
        if ips == current_ips(service):
            return None
        ingress = [{"ip": ip, "ipMode": "VIP"} for ip in ips] or None
        try:
            await self.client.patch("services", name, namespace, {"status": {"loadBalancer": {"ingress": ingress}}},
                                    subresource="status", raw=True)
        except NotFound:
            pass
        return None
