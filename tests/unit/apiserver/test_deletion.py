"""The decisions of a DELETE (store.go, rest.BeforeDelete) as pure functions."""

from __future__ import annotations

import datetime as dt

import pytest

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.api.strategy import strategy_for
from kubelite.api.types import core_v1
from kubelite.api.types.meta_v1 import ObjectMeta
from kubelite.apiserver.deletion import (
    before_delete,
    gc_finalizers,
    mark_as_deleting,
    requested_grace,
)

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
PODS, CONFIGMAPS = by_resource("", "v1", "pods"), by_resource("", "v1", "configmaps")
assert PODS is not None and CONFIGMAPS is not None


@pytest.mark.parametrize(("finalizers", "options", "after"), [
    (["a"], {"propagationPolicy": "Orphan"}, ["a", "orphan"]),
    (["orphan", "a"], {"propagationPolicy": "Background"}, ["a"]),
    (["orphan"], {"propagationPolicy": "Foreground"}, ["foregroundDeletion"]),
    (["foregroundDeletion"], {"orphanDependents": False}, []),
    (["orphan", "a"], {}, ["a", "orphan"]),  # no say: what the object carries stands
])
def test_gc_finalizers_follow_the_delete_options(finalizers: list[str], options: dict[str, object],
                                                 after: list[str]) -> None:
    assert gc_finalizers(finalizers, options) == after


def test_a_negative_grace_period_counts_as_one_second_and_garbage_is_a_bad_request() -> None:
    assert (requested_grace({"gracePeriodSeconds": -5}), requested_grace({})) == (1, None)
    with pytest.raises(st.BadRequest):
        requested_grace({"gracePeriodSeconds": "soon"})


def _meta(obj: core_v1.Pod | core_v1.ConfigMap) -> ObjectMeta:
    assert obj.metadata is not None
    return obj.metadata


def _pod(node: str = "n1", phase: str = "Running") -> core_v1.Pod:
    spec = core_v1.PodSpec(containers=[core_v1.Container(name="c")], node_name=node,
                           termination_grace_period_seconds=20)
    return core_v1.Pod(metadata=ObjectMeta(name="p"), spec=spec, status=core_v1.PodStatus(phase=phase))


def test_a_running_pod_gets_its_own_grace_period_and_a_finished_one_none() -> None:
    pod = _pod()
    assert before_delete(strategy_for(PODS), pod, None, NOW).graceful
    assert (_meta(pod).deletion_timestamp, _meta(pod).deletion_grace_period_seconds) == (
        "2026-01-01T12:00:20Z", 20)
    done = _pod(phase="Succeeded")
    before_delete(strategy_for(PODS), done, 30, NOW)
    assert _meta(done).deletion_grace_period_seconds == 0


def test_a_shorter_grace_moves_the_deadline_from_when_deletion_started() -> None:
    pod = _pod()
    before_delete(strategy_for(PODS), pod, None, NOW)
    later = NOW + dt.timedelta(seconds=5)
    assert before_delete(strategy_for(PODS), pod, 25, later).pending  # longer: nothing changes
    assert before_delete(strategy_for(PODS), pod, 10, later).graceful
    assert _meta(pod).deletion_timestamp == "2026-01-01T12:00:10Z"


def test_a_kind_without_graceful_delete_is_only_marked_and_its_generation_bumped() -> None:
    cm = core_v1.ConfigMap(metadata=ObjectMeta(name="c", generation=3))
    assert before_delete(strategy_for(CONFIGMAPS), cm, 30, NOW).graceful is False
    assert _meta(cm).deletion_timestamp is None
    mark_as_deleting(cm, NOW)
    mark_as_deleting(cm, NOW + dt.timedelta(seconds=9))  # a second mark keeps the first time
    assert (_meta(cm).deletion_timestamp, _meta(cm).deletion_grace_period_seconds,
            _meta(cm).generation) == ("2026-01-01T12:00:00Z", 0, 4)
