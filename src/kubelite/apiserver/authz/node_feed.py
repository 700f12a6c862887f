"""Keeps a NodeGraph current from the watch cache (Kubernetes' graph_populator informers):
pods, PersistentVolumeClaims, PersistentVolumes and Ingresses are listed once, then every change
is applied as the watch cache publishes it (`apiserver/cache_feed.py`)."""

from __future__ import annotations

from kubelite.api.registry import by_resource
from kubelite.apiserver.authz.node_graph import NodeGraph
from kubelite.apiserver.cache_feed import CacheFeed, key_of
from kubelite.store.interface import Store


class NodeGraphFeed(CacheFeed):
    name = "node graph"

    def __init__(self, store: Store, graph: NodeGraph) -> None:
        g = graph
        super().__init__(store, [
            (by_resource("", "v1", "persistentvolumes"),
             lambda t, o: g.delete_volume(key_of(o)[1]) if t == "DELETED" else g.set_volume(o)),
            (by_resource("", "v1", "persistentvolumeclaims"),
             lambda t, o: g.delete_claim(key_of(o)) if t == "DELETED" else g.set_claim(o)),
            (by_resource("", "v1", "pods"),
             lambda t, o: g.delete_pod(key_of(o)) if t == "DELETED" else g.set_pod(o)),
            (by_resource("networking.k8s.io", "v1", "ingresses"),
             lambda t, o: g.delete_ingress(key_of(o)) if t == "DELETED" else g.set_ingress(o)),
        ])
        self.graph = graph
