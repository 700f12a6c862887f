"""SchedulerCache: assumed pods count at once, are confirmed by the watch or expire."""

from __future__ import annotations

from kubelite.scheduler.cache import SchedulerCache
from tests.unit.scheduler.builders import make_node, make_pod


def test_assume_confirm_and_expire() -> None:
    cache = SchedulerCache(assumed_ttl=30)
    cache.add_node(make_node("n", cpu="2"))
    pod = make_pod("p", cpu="1")
    cache.assume_pod(pod, "n")
    assert cache.nodes["n"].requested.milli_cpu == 1000 and cache.is_assumed(pod)
    cache.finish_binding(pod, now=0)
    assert cache.cleanup_expired(now=10) == []
    assert cache.cleanup_expired(now=31) == ["default/p"]
    assert cache.nodes["n"].requested.milli_cpu == 0


def test_watch_confirmation_replaces_the_assumption() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("n"))
    pod = make_pod("p", cpu="1")
    cache.assume_pod(pod, "n")
    cache.finish_binding(pod, now=0)
    cache.add_pod(make_pod("p", cpu="1", node="n"))
    assert not cache.is_assumed(pod)
    assert cache.cleanup_expired(now=1000) == []
    assert cache.nodes["n"].requested.milli_cpu == 1000


def test_pods_seen_before_their_node_are_attached_later() -> None:
    cache = SchedulerCache()
    cache.add_pod(make_pod("p", cpu="500m", node="late"))
    info = cache.add_node(make_node("late"))
    assert info.requested.milli_cpu == 500 and "default/p" in info.pods


def test_forget_undoes_assume() -> None:
    cache = SchedulerCache()
    cache.add_node(make_node("n"))
    pod = make_pod("p", cpu="1")
    cache.assume_pod(pod, "n")
    cache.forget_pod(pod)
    assert cache.nodes["n"].requested.milli_cpu == 0 and not cache.nodes["n"].pods
