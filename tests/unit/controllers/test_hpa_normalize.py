"""Stabilization windows and scaling policies (horizontal.go's normalizeDesiredReplicas*),
on a fake clock."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.defaults.autoscaling import scale_down_rules, scale_up_rules
from kubelite.api.types import autoscaling_v2 as v2
from kubelite.controllers.podautoscaler.normalize import Normalizer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _spec(maximum: int = 100, minimum: int = 1, behavior: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"minReplicas": minimum, "maxReplicas": maximum}
    if behavior is not None:
        spec["behavior"] = behavior
    return spec


def _defaulted(scale_up: v2.HPAScalingRules | None = None,
               scale_down: v2.HPAScalingRules | None = None) -> dict[str, Any]:
    """A behavior as the API server stores it (defaults filled in)."""
    behavior = v2.HorizontalPodAutoscalerBehavior(scale_up=scale_up_rules(scale_up),
                                                  scale_down=scale_down_rules(scale_down))
    out: dict[str, Any] = msgspec.to_builtins(behavior)
    return out


def test_without_behavior_a_scale_up_is_capped_at_twice_or_four() -> None:
    n = Normalizer(300, Clock())
    replicas, able, limited = n.normalize("k", _spec(maximum=20), current=1, desired=10)
    assert replicas == 4
    assert able[1] == "ReadyForNewScale"
    assert limited == ("True", "ScaleUpLimit",
                       "the desired replica count is increasing faster than the maximum scale rate")


def test_without_behavior_max_replicas_limits() -> None:
    n = Normalizer(300, Clock())
    replicas, _, limited = n.normalize("k", _spec(maximum=3), current=2, desired=10)
    assert replicas == 3 and limited[:2] == ("True", "TooManyReplicas")


def test_without_behavior_a_scale_down_keeps_the_window_highest() -> None:
    clock = Clock()
    n = Normalizer(300, clock)
    assert n.normalize("k", _spec(), current=1, desired=5)[0] == 4  # max(2 x 1, 4)
    clock.now += 15
    assert n.normalize("k", _spec(), current=4, desired=5)[0] == 5
    clock.now += 15
    replicas, able, limited = n.normalize("k", _spec(), current=5, desired=1)
    assert replicas == 5  # the highest of the last 300 s (5), not 1: no change
    assert able == ("True", "ScaleDownStabilized", "recent recommendations were higher than current "
                    "one, applying the highest recent recommendation")
    assert limited[:2] == ("False", "DesiredWithinRange")
    clock.now += 299
    assert n.normalize("k", _spec(), current=5, desired=1)[0] == 1  # the 5s are out of the window


def test_default_behavior_scales_up_by_the_larger_of_4_pods_and_100_percent() -> None:
    n = Normalizer(300, Clock())
    replicas, _, limited = n.normalize("k", _spec(behavior=_defaulted()), current=5, desired=100)
    assert replicas == 10 and limited[:2] == ("True", "ScaleUpLimit")
    replicas, _, _ = Normalizer(300, Clock()).normalize("k", _spec(behavior=_defaulted()), current=1,
                                                        desired=100)
    assert replicas == 5  # 1 + 4 pods beats 1 + 100%


def test_select_policy_min_takes_the_smaller_change() -> None:
    rules = v2.HPAScalingRules(select_policy="Min", policies=[
        v2.HPAScalingPolicy(type="Pods", value=4, period_seconds=15),
        v2.HPAScalingPolicy(type="Percent", value=100, period_seconds=15)])
    n = Normalizer(300, Clock())
    assert n.normalize("k", _spec(behavior=_defaulted(scale_up=rules)), current=10, desired=50)[0] == 14


def test_disabled_direction_never_moves() -> None:
    rules = v2.HPAScalingRules(select_policy="Disabled")
    spec = _spec(behavior=_defaulted(scale_down=rules))
    replicas, _, limited = Normalizer(0, Clock()).normalize("k", spec, current=10, desired=2)
    assert replicas == 10 and limited[:2] == ("True", "ScaleDownLimit")


def test_a_pods_policy_counts_scale_events_within_its_period() -> None:
    clock = Clock()
    rules = v2.HPAScalingRules(stabilization_window_seconds=0, policies=[
        v2.HPAScalingPolicy(type="Pods", value=1, period_seconds=60)])
    spec = _spec(behavior=_defaulted(scale_down=rules))
    n = Normalizer(300, clock)
    assert n.normalize("k", spec, current=10, desired=2)[0] == 9
    n.record_scale("k", spec, 10, 9)
    clock.now += 30
    replicas, _, limited = n.normalize("k", spec, current=9, desired=2)
    assert replicas == 9  # one pod per 60 s, already spent
    assert limited == ("True", "ScaleDownLimit",
                       "the desired replica count is decreasing faster than the maximum scale rate")
    clock.now += 31
    assert n.normalize("k", spec, current=9, desired=2)[0] == 8


def test_scale_up_stabilization_takes_the_lowest_recent_recommendation() -> None:
    clock = Clock()
    rules = v2.HPAScalingRules(stabilization_window_seconds=60)
    spec = _spec(behavior=_defaulted(scale_up=rules))
    n = Normalizer(300, clock)
    assert n.normalize("k", spec, current=3, desired=3)[0] == 3
    clock.now += 15
    replicas, able, _ = n.normalize("k", spec, current=3, desired=6)
    assert replicas == 3 and able[1] == "ScaleUpStabilized"
    clock.now += 60
    assert n.normalize("k", spec, current=3, desired=6)[0] == 6


def test_behavior_without_a_down_window_uses_the_controller_flag() -> None:
    clock = Clock()
    spec = _spec(behavior=_defaulted())
    n = Normalizer(20, clock)
    n.normalize("k", spec, current=4, desired=4)
    clock.now += 10
    assert n.normalize("k", spec, current=4, desired=1)[0] == 4
    clock.now += 15
    assert n.normalize("k", spec, current=4, desired=1)[0] == 1
