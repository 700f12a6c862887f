"""What the utilization sampler needs to know of Nodes and Pods, kept current from the watch
cache instead of listing (and decoding) every pod at each sample: the Nodes themselves (few;
the kubelet's address is in them) and, per pod uid, its namespace, name, node and resources,
and the bound pods still running as the watch cache decoded them (the scheduler's explanation
of a Pending pod counts them; the dicts are shared with the cache's events, not copied)."""

from __future__ import annotations

from typing import Any

from kubelite.api.registry import by_resource
from kubelite.apiserver.cache_feed import CacheFeed
from kubelite.apiserver.dashboard.history import PodInfo, pod_resources, pod_restarts
from kubelite.store.interface import Store


class SamplerFeed(CacheFeed):
    name = "dashboard"

    def __init__(self, store: Store) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, PodInfo] = {}
        self.bound: dict[str, dict[str, Any]] = {}
        super().__init__(store, [(by_resource("", "v1", "nodes"), self._node),
                                 (by_resource("", "v1", "pods"), self._pod)])

    def _node(self, watch_type: str, node: dict[str, Any]) -> None:
        name = (node.get("metadata") or {}).get("name", "")
        if watch_type == "DELETED":
            self.nodes.pop(name, None)
        else:
            self.nodes[name] = node

    def _pod(self, watch_type: str, pod: dict[str, Any]) -> None:
        meta = pod.get("metadata") or {}
        uid = meta.get("uid", "")
        node = (pod.get("spec") or {}).get("nodeName", "")
        if watch_type == "DELETED" or not node:
            self.pods.pop(uid, None)
            self.bound.pop(uid, None)
            return
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            self.bound.pop(uid, None)
        else:
            self.bound[uid] = pod
        self.pods[uid] = PodInfo(meta.get("namespace", ""), meta.get("name", ""), node, pod_resources(pod),
                                 pod_restarts(pod))
