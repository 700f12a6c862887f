"""How many replicas a Resource metric asks for (replica_calculator.go, GetResourceReplicas and
GetRawResourceReplicas).

The ratio of current usage to target, applied to the ready pods; within the tolerance (10%)
nothing changes. Pods being deleted or failed are ignored; pending pods, and for CPU pods
still starting (within the CPU initialization period) are "unready": they count as using
nothing, and only when that still scales up. Pods without a metric count as using nothing on
a scale-up and as using their request (or the target, if higher) on a scale-down, and no
answer may reverse the direction the measured pods asked for.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field

TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD = dt.timedelta(minutes=5)
DELAY_OF_INITIAL_READINESS_STATUS = dt.timedelta(seconds=30)


class ReplicaCalculationError(Exception):
    """No replica count could be computed (the message is Kubernetes' own)."""


@dataclass(frozen=True)
class PodMetric:
    """One pod's usage: milli-units (millicores, milli-bytes), when it was measured, over which window."""

    value: int
    timestamp: dt.datetime
    window: dt.timedelta = dt.timedelta(seconds=30)


@dataclass(frozen=True)
class PodInfo:
    """What the calculator needs of a pod."""

    name: str
    phase: str = "Running"
    deleting: bool = False
    # Ready condition: (status "True"/"False", lastTransitionTime), None without one
    ready: tuple[str, dt.datetime] | None = None
    start_time: dt.datetime | None = None
    # the pod's request of the resource in milli-units; None when a container has none
    request: int | None = None


@dataclass
class PodGroups:
    ready_count: int = 0
    unready: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)


def group_pods(pods: list[PodInfo], metrics: dict[str, PodMetric], cpu: bool, now: dt.datetime,
               cpu_init: dt.timedelta = CPU_INITIALIZATION_PERIOD,
               readiness_delay: dt.timedelta = DELAY_OF_INITIAL_READINESS_STATUS) -> PodGroups:
    """groupPods: ready (counted), unready, missing a metric, ignored."""
    groups = PodGroups()
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            groups.ignored.add(pod.name)
            continue
        if pod.phase == "Pending":
            groups.unready.add(pod.name)
            continue
        metric = metrics.get(pod.name)
        if metric is None:
            groups.missing.add(pod.name)
            continue
        if cpu:
            if pod.ready is None or pod.start_time is None:
                unready = True
            elif pod.start_time + cpu_init > now:
                # still starting: unready, or no full metric window since it became ready
                unready = pod.ready[0] == "False" or metric.timestamp < pod.ready[1] + metric.window
            else:
                # unready and never ready since it started
                unready = pod.ready[0] == "False" and pod.start_time + readiness_delay > pod.ready[1]
            if unready:
                groups.unready.add(pod.name)
                continue
        groups.ready_count += 1
    return groups


def utilization_ratio(metrics: dict[str, int], requests: dict[str, int],
                      target: int) -> tuple[float, int, int]:
    """GetResourceUtilizationRatio: (ratio, utilization %, average raw value)."""
    total = requested = entries = 0
    for name, value in metrics.items():
        if name not in requests:
            continue
        total += value
        requested += requests[name]
        entries += 1
    if requested == 0:
        raise ReplicaCalculationError("no metrics returned matched known pods")
    utilization = total * 100 // requested
    return utilization / target, utilization, total // entries


def usage_ratio(metrics: dict[str, int], target: int) -> tuple[float, int]:
    """GetMetricUsageRatio: (ratio, average value)."""
    average = sum(metrics.values()) // len(metrics)
    return average / target, average


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    utilization: int | None  # percent of request, for Utilization targets
    average: int  # milli-units per pod


def _calculate(current: int, pods: list[PodInfo], metrics: dict[str, PodMetric], cpu: bool,
               now: dt.datetime, ratio: Callable[[dict[str, int]], float], missing_down: Callable[[str], int],
               tolerance: float) -> int:
    if not pods:
        raise ReplicaCalculationError("no pods returned by selector while calculating replica count")
    groups = group_pods(pods, metrics, cpu, now)
    values = {n: m.value for n, m in metrics.items() if n not in groups.ignored | groups.unready}
    if not values:
        raise ReplicaCalculationError("did not receive metrics for targeted pods (pods might be unready)")
    first = ratio(values)
    up_with_unready = bool(groups.unready) and first > 1.0
    if not up_with_unready and not groups.missing:
        if abs(1.0 - first) <= tolerance:
            return current
        return math.ceil(first * groups.ready_count)
    for name in groups.missing:
        if first < 1.0:  # on a scale-down a silent pod is taken as using its request
            values[name] = missing_down(name)
        elif first > 1.0:  # on a scale-up, as using nothing
            values[name] = 0
    if up_with_unready:
        for name in groups.unready:
            values[name] = 0
    second = ratio(values)
    if abs(1.0 - second) <= tolerance or (first < 1.0 < second) or (first > 1.0 > second):
        return current
    proposed = math.ceil(second * len(values))
    if (second < 1.0 and proposed > current) or (second > 1.0 and proposed < current):
        return current
    return proposed


def _requests(pods: list[PodInfo], resource: str) -> dict[str, int]:
    requests = {}
    for pod in pods:
        if pod.request is None:
            raise ReplicaCalculationError(f"missing request for {resource} in pod {pod.name}")
        requests[pod.name] = pod.request
    return requests


def resource_replicas(current: int, target_utilization: int, resource: str, pods: list[PodInfo],
                      metrics: dict[str, PodMetric], now: dt.datetime,
                      tolerance: float = TOLERANCE) -> Recommendation:
    """GetResourceReplicas: a target utilization (percent of the pods' requests)."""
    if not metrics:
        raise ReplicaCalculationError(f"unable to get metrics for resource {resource}: no metrics returned from resource metrics API")
    requests = _requests([p for p in pods if not (p.deleting or p.phase == "Failed")], resource)
    fallback = max(100, target_utilization)
    groups = group_pods(pods, metrics, resource == "cpu", now)
    measured = {n: m.value for n, m in metrics.items() if n not in groups.ignored | groups.unready}
    replicas = _calculate(current, pods, metrics, resource == "cpu", now,
                          lambda values: utilization_ratio(values, requests, target_utilization)[0],
                          lambda name: requests[name] * fallback // 100, tolerance)
    _, utilization, average = utilization_ratio(measured, requests, target_utilization)
    return Recommendation(replicas, utilization, average)


def raw_resource_replicas(current: int, target_average: int, resource: str, pods: list[PodInfo],
                          metrics: dict[str, PodMetric], now: dt.datetime,
                          tolerance: float = TOLERANCE) -> Recommendation:
    """GetRawResourceReplicas: a target average value per pod (milli-units)."""
    if not metrics:
        raise ReplicaCalculationError(f"unable to get metrics for resource {resource}: no metrics returned from resource metrics API")
    groups = group_pods(pods, metrics, resource == "cpu", now)
    replicas = _calculate(current, pods, metrics, resource == "cpu", now,
                          lambda values: usage_ratio(values, target_average)[0],
                          lambda name: target_average, tolerance)
    measured = {n: m.value for n, m in metrics.items() if n not in groups.ignored | groups.unready}
    return Recommendation(replicas, None, usage_ratio(measured, target_average)[1])
