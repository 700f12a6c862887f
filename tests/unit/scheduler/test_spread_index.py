"""The cache's incremental indexes agree with a full walk after pods and nodes come and go."""

from __future__ import annotations

import random

from kubelite.api.types import meta_v1
from kubelite.scheduler.cache import SchedulerCache, Snapshot
from tests.unit.scheduler.builders import make_node, make_pod

ZONE = "topology.kubernetes.io/zone"
SELECTOR = meta_v1.LabelSelector(match_labels={"app": "web"})


def walked(snapshot: Snapshot, key: str) -> dict[str, int]:
    """The answer computed from scratch, as a bare Snapshot does."""
    return Snapshot(snapshot.nodes).spread_counts("default", SELECTOR, key)


def test_spread_counts_follow_pods_nodes_and_label_changes() -> None:
    rng = random.Random(7)
    cache = SchedulerCache()
    for i in range(6):
        cache.add_node(make_node(f"n{i}", labels={ZONE: f"z{i % 3}"}))
    assert cache.snapshot().spread_counts("default", SELECTOR, ZONE) == {"z0": 0, "z1": 0, "z2": 0}
    placed: list[str] = []
    for step in range(200):
        action = rng.random()
        if action < 0.5 or not placed:
            name = f"p{step}"
            labels = {"app": rng.choice(["web", "db"])}
            node = f"n{rng.randrange(6)}"
            if rng.random() < 0.5:
                cache.assume_pod(make_pod(name, labels=labels), node)
            else:
                cache.add_pod(make_pod(name, labels=labels, node=node))
            placed.append(name)
        elif action < 0.8:
            name = placed.pop(rng.randrange(len(placed)))
            cache.remove_pod(make_pod(name))
        elif action < 0.9:
            i = rng.randrange(6)
            cache.update_node(make_node(f"n{i}", labels={ZONE: f"z{rng.randrange(4)}"}))
        else:
            cache.add_node(make_node(f"extra{step}", labels={ZONE: "z9"}))
        snap = cache.snapshot()
        assert snap.spread_counts("default", SELECTOR, ZONE) == walked(snap, ZONE), step
        host = "kubernetes.io/hostname"
        assert snap.spread_counts("default", SELECTOR, host) == walked(snap, host), step


def test_image_label_and_affinity_indexes() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("a", images=[{"names": ["nginx"], "sizeBytes": 10}]))
    cache.add_node(make_node("b", labels={"disk": "ssd"},
                             images=[{"names": ["docker.io/library/nginx:latest"], "sizeBytes": 10}]))
    assert cache.image_nodes == {"docker.io/library/nginx:latest": 2}
    assert cache.label_keys["disk"] == 1 and cache.label_keys["kubernetes.io/hostname"] == 2
    cache.update_node(make_node("b"))
    assert "disk" not in cache.label_keys and cache.image_nodes == {"docker.io/library/nginx:latest": 1}
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "x"}}}]}}
    cache.add_pod(make_pod("plain", node="a"))
    cache.add_pod(make_pod("picky", node="b", affinity=anti))
    assert [p.metadata.name for _, p in cache.snapshot().affinity_pods()] == ["picky"]  # type: ignore[union-attr]
    cache.remove_node("b")
    assert list(cache.snapshot().affinity_pods()) == [] and len(cache.snapshot().nodes) == 1
