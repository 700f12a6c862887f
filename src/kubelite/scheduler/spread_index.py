"""Matching-pod counts per topology domain, kept up to date as pods come and go.

PodTopologySpread needs, for every pod it schedules, how many pods matching a selector run in
each domain (zone, host...). Counting that by walking every node's pods costs O(pods) per
scheduling cycle; kube-scheduler pays it with 16 goroutines, we cannot. So the cache keeps one
counter per (namespace, selector, topology key) that spread pods ask about, built once by a
walk and then updated on every pod placed or removed. Node label changes and node removals
drop the counters (they are rebuilt on the next use).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec

from kubelite.api.types import core_v1, meta_v1
from kubelite.scheduler._labels import selector_matches

if TYPE_CHECKING:
    from kubelite.scheduler.cache import NodeInfo

MAX_COUNTERS = 256  # distinct (namespace, selector, key) triples kept before starting afresh

CounterKey = tuple[str, bytes, str]


def counts_towards(pod: core_v1.Pod, namespace: str, selector: meta_v1.LabelSelector) -> bool:
    """The pods a spread constraint counts: same namespace, matching, not being deleted."""
    meta = pod.metadata
    return (meta is not None and meta.namespace == namespace and not meta.deletion_timestamp
            and selector_matches(selector, meta.labels))


class _Counter:
    __slots__ = ("namespace", "selector", "key", "counts")

    def __init__(self, namespace: str, selector: meta_v1.LabelSelector, key: str) -> None:
        self.namespace = namespace
        self.selector = selector
        self.key = key
        self.counts: dict[str, int] = {}


class SpreadIndex:
    """domain -> matching pods, per (namespace, selector, topology key), over all nodes."""

    def __init__(self) -> None:
        self._counters: dict[CounterKey, _Counter] = {}

    def counts(self, namespace: str, selector: meta_v1.LabelSelector, key: str,
               nodes: Iterable[NodeInfo]) -> dict[str, int]:
        """Every domain of `key` (zero included) and its matching pods. Do not mutate."""
        ck = (namespace, msgspec.json.encode(selector), key)
        counter = self._counters.get(ck)
        if counter is None:
            if len(self._counters) >= MAX_COUNTERS:
                self._counters.clear()
            counter = self._counters[ck] = _Counter(namespace, selector, key)
            for node in nodes:
                domain = node.labels.get(key)
                if domain is None:
                    continue
                n = sum(1 for p in node.pods.values() if counts_towards(p, namespace, selector))
                counter.counts[domain] = counter.counts.get(domain, 0) + n
        return counter.counts

    def pod_placed(self, pod: core_v1.Pod, node: NodeInfo, sign: int = 1) -> None:
        for c in self._counters.values():
            domain = node.labels.get(c.key)
            if domain is not None and counts_towards(pod, c.namespace, c.selector):
                c.counts[domain] = c.counts.get(domain, 0) + sign

    def node_added(self, node: NodeInfo) -> None:
        """A new (empty) node: its domains exist now, with whatever they already count."""
        if node.pods:
            self.invalidate()
            return
        for c in self._counters.values():
            domain = node.labels.get(c.key)
            if domain is not None:
                c.counts.setdefault(domain, 0)

    def invalidate(self) -> None:
        self._counters.clear()
