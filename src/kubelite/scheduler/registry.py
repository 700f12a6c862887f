"""Every plugin kubelite's default-scheduler runs, in kube-scheduler's order, with the
default score weights. A reader finds any rule in one hop from here."""

from __future__ import annotations

from kubelite.scheduler.framework import Plugin
from kubelite.scheduler.plugins.balanced_allocation import BalancedAllocation
from kubelite.scheduler.plugins.image_locality import ImageLocality
from kubelite.scheduler.plugins.inter_pod_affinity import InterPodAffinity
from kubelite.scheduler.plugins.node_affinity import NodeAffinity
from kubelite.scheduler.plugins.node_name import NodeName
from kubelite.scheduler.plugins.node_ports import NodePorts
from kubelite.scheduler.plugins.node_resources_fit import NodeResourcesFit
from kubelite.scheduler.plugins.node_unschedulable import NodeUnschedulable
from kubelite.scheduler.plugins.pod_topology_spread import PodTopologySpread
from kubelite.scheduler.plugins.taint_toleration import TaintToleration
from kubelite.scheduler.plugins.volume_binding import VolumeBinding

# Filters run in this order; a node is refused by the first plugin that refuses it.
FILTER_ORDER: tuple[type[Plugin], ...] = (
    NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
    VolumeBinding, PodTopologySpread, InterPodAffinity,
)

# Score plugins and weights (kube-scheduler's defaults).
SCORE_WEIGHTS: dict[type[Plugin], int] = {
    TaintToleration: 3,
    NodeAffinity: 2,
    PodTopologySpread: 2,
    InterPodAffinity: 2,
    NodeResourcesFit: 1,
    BalancedAllocation: 1,
    ImageLocality: 1,
}


class Profile:
    """The plugin instances of one scheduler profile: filters in order, scorers with weights."""

    def __init__(self, filters: tuple[type[Plugin], ...] = FILTER_ORDER,
                 scores: dict[type[Plugin], int] | None = None) -> None:
        weights = SCORE_WEIGHTS if scores is None else scores
        instances: dict[type[Plugin], Plugin] = {}
        for cls in (*filters, *weights):
            instances.setdefault(cls, cls())
        self.filters: list[Plugin] = [instances[c] for c in filters]
        self.scorers: list[tuple[Plugin, int]] = [(instances[c], w) for c, w in weights.items()]
        self.plugins: dict[str, Plugin] = {p.NAME: p for p in instances.values()}


def default_profile() -> Profile:
    return Profile()
