"""ImageLocality: nodes holding the pod's (large, spread) images score higher."""

from __future__ import annotations

from kubelite.scheduler.cache import normalize_image
from kubelite.scheduler.framework import CycleState
from kubelite.scheduler.plugins.image_locality import ImageLocality
from tests.unit.scheduler.builders import make_node, make_pod, snapshot

MB = 1024 * 1024


def test_normalize_image() -> None:
    assert normalize_image("nginx") == "docker.io/library/nginx:latest"
    assert normalize_image("user/app:1") == "docker.io/user/app:1"
    assert normalize_image("registry.local:5000/app") == "registry.local:5000/app:latest"


def test_node_with_the_image_scores_higher() -> None:
    images = [{"names": ["docker.io/library/nginx:latest"], "sizeBytes": 500 * MB}]
    snap = snapshot([make_node("has", images=images), make_node("lacks")])
    pod = make_pod("p", image="nginx")
    state = CycleState(snap)
    plugin = ImageLocality()
    has, lacks = plugin.score(state, pod, snap.by_name["has"]), plugin.score(state, pod, snap.by_name["lacks"])
    assert lacks == 0 and has > 0
