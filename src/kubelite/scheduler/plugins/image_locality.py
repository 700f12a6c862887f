"""ImageLocality: prefer nodes that already hold the pod's images, weighted by image size and
by how widely the image is spread (so one node does not attract everything)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kubelite.api.types import core_v1
from kubelite.scheduler.cache import NodeInfo, normalize_image
from kubelite.scheduler.framework import MAX_NODE_SCORE, CycleState, Event, Plugin
from kubelite.scheduler.node_arrays import IntArray, NodeArrays

NAME = "ImageLocality"
EVENTS = Event.NONE  # scoring only

MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def image_score(pod: core_v1.Pod, node: NodeInfo, image_nodes: dict[str, int], total_nodes: int) -> int:
    containers = list(pod.spec.containers) + list(pod.spec.init_containers or []) if pod.spec else []
    total = 0
    for c in containers:
        if not c.image:
            continue
        name = normalize_image(c.image)
        size = node.images.get(name)
        if size is not None and total_nodes:
            total += int(size * (image_nodes.get(name, 0) / total_nodes))
    max_threshold = MAX_CONTAINER_THRESHOLD * max(1, len(containers))
    total = min(max(total, MIN_THRESHOLD), max_threshold)
    return MAX_NODE_SCORE * (total - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)


class ImageLocality(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def score(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> int:
        snap = state.snapshot
        return image_score(pod, node, snap.image_nodes, len(snap.nodes))

    def score_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays,
                     rows: IntArray) -> IntArray | None:
        """Zeros when no node holds any of the pod's images; otherwise per node (None)."""
        containers = list(pod.spec.containers) + list(pod.spec.init_containers or []) if pod.spec else []
        image_nodes = state.snapshot.image_nodes
        if any(c.image and normalize_image(c.image) in image_nodes for c in containers):
            return None
        return np.zeros(len(rows), np.int64)

    def score_nodes(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]
                    ) -> list[int]:
        containers = list(pod.spec.containers) + list(pod.spec.init_containers or []) if pod.spec else []
        image_nodes = state.snapshot.image_nodes
        if not any(c.image and normalize_image(c.image) in image_nodes for c in containers):
            return [0] * len(nodes)  # no node holds any of its images
        return [self.score(state, pod, n) for n in nodes]
