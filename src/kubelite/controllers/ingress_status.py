"""The status half of the built-in Ingress controller: the addresses an Ingress is served on.

Every node runs the Ingress proxy (ingress/node.py), so an Ingress of the `kubelite` class (or
of no class while `kubelite` is the default) gets the addresses of the Ready nodes whose agent
says it serves (the Node annotation `kubelite.io/ingress-ports`) in
`status.loadBalancer.ingress` (kubectl's ADDRESS column), as traefik in k3s reports the
addresses of its ServiceLB. Ingresses of other classes are left alone.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.client import NotFound
from kubelite.controllers.loadbalancer import current_ips, node_addresses
from kubelite.controllers.podutil import key_of
from kubelite.controllers.shared import SharedController, SharedInformers
from kubelite.ingress.model import PORTS_ANNOTATION, is_ours, our_classes

log = logging.getLogger(__name__)


class IngressStatusController(SharedController):
    name = "ingress-status"

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)

    def setup(self) -> None:
        self.ingresses = self.informer("ingresses", raw=True)
        self.classes = self.informer("ingressclasses", raw=True)
        self.nodes = self.informer("nodes", raw=True)
        self.ingresses.on_add(lambda i: self.queue.add(key_of(i)))
        self.ingresses.on_update(lambda old, new: self.queue.add(key_of(new)))
        for informer in (self.classes, self.nodes):
            informer.on_add(lambda _o: self._enqueue_all())
            informer.on_update(lambda _old, _new: self._enqueue_all())
            informer.on_delete(lambda _o: self._enqueue_all())

    def _enqueue_all(self) -> None:
        for ingress in self.ingresses.list():
            self.queue.add(key_of(ingress))

    async def reconcile(self, key: str) -> float | None:
        ingress = self.ingresses.get(key)
        if ingress is None:
            return None
        names, default = our_classes(self.classes.list())
        if not is_ours(ingress, names, default):
            return None
        ips = node_addresses(self.nodes.list(), annotated=PORTS_ANNOTATION)
        if ips == current_ips(ingress):
            return None
        namespace, name = key.split("/", 1)
        body = {"status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips] or None}}}
        try:
            await self.client.patch("ingresses", name, namespace, body, subresource="status", raw=True)
        except NotFound:
            pass
        return None
