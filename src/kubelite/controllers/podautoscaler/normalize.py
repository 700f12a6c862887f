"""From a metrics recommendation to the replica count to set (horizontal.go:
normalizeDesiredReplicas and normalizeDesiredReplicasWithBehaviors).

Without spec.behavior: scale-downs are stabilized over the controller's downscale window (the
highest recommendation in it wins), and a scale-up is capped at max(2 x current, 4). With
spec.behavior: each direction has its own stabilization window, and its policies (Pods or
Percent per periodSeconds, selectPolicy Max/Min/Disabled) limit how far the count may move
from where it was at the start of each period, counting the scale events made since.

Each returns (replicas, AbleToScale condition, ScalingLimited condition), the conditions as
(status, reason, message).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Cond = tuple[str, str, str]
Obj = dict[str, Any]

DEFAULT_DOWNSCALE_STABILIZATION = 300.0
READY = ("True", "ReadyForNewScale", "recommended size matches current size")
UP_STABILIZED = ("True", "ScaleUpStabilized", "recent recommendations were lower than current one, "
                 "applying the lowest recent recommendation")
DOWN_STABILIZED = ("True", "ScaleDownStabilized", "recent recommendations were higher than current "
                   "one, applying the highest recent recommendation")
WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")
UP_LIMIT = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
DOWN_LIMIT = ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")


@dataclass
class _Event:
    change: int
    at: float
    outdated: bool = False


@dataclass
class _State:
    recommendations: list[tuple[int, float]] = field(default_factory=list)
    ups: list[_Event] = field(default_factory=list)
    downs: list[_Event] = field(default_factory=list)


def _changed_in(period: float, events: list[_Event], now: float) -> int:
    """getReplicasChangePerPeriod."""
    return sum(e.change for e in events if e.at > now - period and not e.outdated)


def scale_up_limit(current: int, ups: list[_Event], downs: list[_Event], rules: Obj, now: float) -> int:
    """calculateScaleUpLimitWithScalingRules."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    pick, result = (min, math.inf) if select == "Min" else (max, -math.inf)
    for policy in rules.get("policies") or []:
        period = float(policy["periodSeconds"])
        start = current - _changed_in(period, ups, now) + _changed_in(period, downs, now)
        if policy["type"] == "Pods":
            proposed = start + int(policy["value"])
        else:
            proposed = math.ceil(start * (1 + int(policy["value"]) / 100))
        result = pick(result, proposed)
    return int(result) if math.isfinite(result) else current


def scale_down_limit(current: int, ups: list[_Event], downs: list[_Event], rules: Obj, now: float) -> int:
    """calculateScaleDownLimitWithBehaviors."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    pick, result = (max, -math.inf) if select == "Min" else (min, math.inf)
    for policy in rules.get("policies") or []:
        period = float(policy["periodSeconds"])
        start = current - _changed_in(period, ups, now) + _changed_in(period, downs, now)
        if policy["type"] == "Pods":
            proposed = start - int(policy["value"])
        else:
            proposed = int(start * (1 - int(policy["value"]) / 100))
        result = pick(result, proposed)
    return int(result) if math.isfinite(result) else current


class Normalizer:
    """The per-HPA memory of recent recommendations and scale events (lost on restart, as in
    Kubernetes)."""

    def __init__(self, downscale_stabilization: float = DEFAULT_DOWNSCALE_STABILIZATION,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = downscale_stabilization
        self.clock = clock
        self._state: dict[str, _State] = {}

    def forget(self, key: str) -> None:
        self._state.pop(key, None)

    def _st(self, key: str) -> _State:
        return self._state.setdefault(key, _State())

    def normalize(self, key: str, spec: Obj, current: int, desired: int) -> tuple[int, Cond, Cond]:
        minimum = int(spec.get("minReplicas") or 1)
        maximum = int(spec["maxReplicas"])
        behavior = spec.get("behavior")
        if behavior is None:
            return self._plain(key, current, desired, minimum, maximum)
        return self._with_behavior(key, behavior, current, desired, minimum, maximum)

    def _plain(self, key: str, current: int, desired: int, minimum: int,
               maximum: int) -> tuple[int, Cond, Cond]:
        now = self.clock()
        st = self._st(key)
        stabilized = desired
        slot = None
        for i, (replicas, at) in enumerate(st.recommendations):
            if at > now - self.window:
                stabilized = max(stabilized, replicas)
            else:
                slot = i
        if slot is None:
            st.recommendations.append((desired, now))
        else:
            st.recommendations[slot] = (desired, now)
        able = DOWN_STABILIZED if stabilized != desired else READY
        up_cap = max(2 * current, 4)
        limit = UP_LIMIT if maximum > up_cap else TOO_MANY
        allowed_max = min(maximum, up_cap)
        if stabilized < minimum:
            return minimum, able, ("True", *TOO_FEW)
        if stabilized > allowed_max:
            return allowed_max, able, ("True", *limit)
        return stabilized, able, ("False", *WITHIN_RANGE)

    def _with_behavior(self, key: str, behavior: Obj, current: int, desired: int, minimum: int,
                       maximum: int) -> tuple[int, Cond, Cond]:
        now = self.clock()
        st = self._st(key)
        up_rules = behavior.get("scaleUp") or {}
        down_rules = behavior.get("scaleDown") or {}
        up_window = float(up_rules.get("stabilizationWindowSeconds") or 0)
        down_window = down_rules.get("stabilizationWindowSeconds")
        down_window = self.window if down_window is None else float(down_window)
        up_rec = down_rec = desired
        slot = None
        for i, (replicas, at) in enumerate(st.recommendations):
            if at > now - up_window:
                up_rec = min(up_rec, replicas)
            if at > now - down_window:
                down_rec = max(down_rec, replicas)
            if at < now - up_window and at < now - down_window:
                slot = i
        stabilized = min(max(current, up_rec), down_rec)
        if slot is None:
            st.recommendations.append((desired, now))
        else:
            st.recommendations[slot] = (desired, now)
        able: Cond = READY
        if stabilized != desired:
            able = UP_STABILIZED if desired >= current else DOWN_STABILIZED
        replicas, limited = self._rate(st, up_rules, down_rules, current, stabilized, minimum,
                                       maximum, now)
        return replicas, able, ("False" if replicas == stabilized else "True", *limited)

    @staticmethod
    def _rate(st: _State, up_rules: Obj, down_rules: Obj, current: int, desired: int, minimum: int,
              maximum: int, now: float) -> tuple[int, tuple[str, str]]:
        """convertDesiredReplicasWithBehaviorRate."""
        if desired > current:
            limit = max(scale_up_limit(current, st.ups, st.downs, up_rules, now), current)
            allowed, why = (limit, UP_LIMIT) if maximum > limit else (maximum, TOO_MANY)
            if desired > allowed:
                return allowed, why
        elif desired < current:
            limit = min(scale_down_limit(current, st.ups, st.downs, down_rules, now), current)
            allowed, why = (limit, DOWN_LIMIT) if minimum < limit else (minimum, TOO_FEW)
            if desired < allowed:
                return allowed, why
        return desired, WITHIN_RANGE

    def record_scale(self, key: str, spec: Obj, previous: int, new: int) -> None:
        """storeScaleEvent: remember a rescale for the policies' periods (only with behavior)."""
        behavior = spec.get("behavior")
        if behavior is None:
            return
        now = self.clock()
        st = self._st(key)
        up = new > previous
        rules = behavior.get("scaleUp" if up else "scaleDown") or {}
        longest = max((float(p["periodSeconds"]) for p in rules.get("policies") or []), default=0.0)
        events = st.ups if up else st.downs
        event = _Event(abs(new - previous), now)
        for e in events:
            e.outdated = e.outdated or e.at <= now - longest
        for i, e in enumerate(events):
            if e.outdated:
                events[i] = event
                return
        events.append(event)
