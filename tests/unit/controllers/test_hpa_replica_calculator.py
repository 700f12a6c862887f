"""The replica calculator against Kubernetes' own cases (replica_calculator_test.go): each pod
has two containers, each requesting `requests[i]` and using `levels[i]` millicores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from kubelite.controllers.podautoscaler.replica_calculator import (
    PodInfo,
    PodMetric,
    ReplicaCalculationError,
    group_pods,
    raw_resource_replicas,
    resource_replicas,
)

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
ZERO = dt.datetime.min.replace(tzinfo=dt.UTC)  # Go's zero time
HOT = NOW - dt.timedelta(minutes=1)  # started within the CPU initialization period
COOL = NOW - dt.timedelta(minutes=10)
CONTAINERS = 2


@dataclass
class Case:
    current: int
    requests: list[float]  # cores per container
    levels: list[int]  # millicores per container, for the first pods
    target: int
    expected: int
    utilization: int
    value: int  # average millicores per pod
    readiness: list[str] | None = None
    phases: list[str] | None = None
    deleting: list[bool] | None = None
    starts: list[dt.datetime] | None = None


def _pods(case: Case) -> list[PodInfo]:
    count = max(case.current, len(case.phases or []))
    pods = []
    for i in range(count):
        request = case.requests[i] if i < len(case.requests) else None
        pods.append(PodInfo(
            name=f"pod-{i}", phase=(case.phases or ["Running"] * count)[i],
            deleting=(case.deleting or [False] * count)[i],
            ready=((case.readiness or ["True"] * count)[i], ZERO),
            start_time=(case.starts or [ZERO] * count)[i],
            request=None if request is None else round(request * 1000) * CONTAINERS))
    return pods


def _metrics(levels: list[int], names: list[str] | None = None) -> dict[str, PodMetric]:
    return {(names[i] if names else f"pod-{i}"): PodMetric(level * CONTAINERS, ZERO, dt.timedelta(minutes=1))
            for i, level in enumerate(levels)}


CASES = {
    "ScaleUp": Case(3, [1.0] * 3, [300, 500, 700], 30, 5, 50, 500),
    "ScaleUpUnreadyLessScale": Case(3, [1.0] * 3, [300, 500, 700], 30, 4, 60, 600,
                                    readiness=["False", "True", "True"]),
    "ScaleUpHotCpuLessScale": Case(3, [1.0] * 3, [300, 500, 700], 30, 4, 60, 600,
                                   starts=[HOT, COOL, COOL]),
    "ScaleUpUnreadyNoScale": Case(3, [1.0] * 3, [400, 500, 700], 30, 3, 40, 400,
                                  readiness=["True", "False", "False"]),
    "ScaleHotCpuNoScale": Case(3, [1.0] * 3, [400, 500, 700], 30, 3, 40, 400,
                               readiness=["True", "False", "False"], starts=[COOL, HOT, HOT]),
    "ScaleUpIgnoresFailedPods": Case(2, [1.0] * 4, [500, 700], 30, 4, 60, 600,
                                     readiness=["True", "True", "False", "False"],
                                     phases=["Running", "Running", "Failed", "Failed"]),
    "ScaleUpIgnoresDeletionPods": Case(2, [1.0] * 4, [500, 700], 30, 4, 60, 600,
                                       readiness=["True", "True", "False", "False"],
                                       phases=["Running"] * 4, deleting=[False, False, True, True]),
    "ScaleDown": Case(5, [1.0] * 5, [100, 300, 500, 250, 250], 50, 3, 28, 280),
    "ScaleDownIncludeUnreadyPods": Case(5, [1.0] * 5, [100, 300, 500, 250, 250], 50, 2, 30, 300,
                                        readiness=["True", "True", "True", "False", "False"]),
    "ScaleDownExcludeUnscheduledPods": Case(5, [1.0] * 5, [100], 50, 1, 10, 100,
                                            readiness=["True"] + ["False"] * 4,
                                            phases=["Running"] + ["Pending"] * 4),
    "ScaleDownIgnoreHotCpuPods": Case(5, [1.0] * 5, [100, 300, 500, 250, 250], 50, 2, 30, 300,
                                      starts=[COOL, COOL, COOL, HOT, HOT]),
    "ScaleDownIgnoresFailedPods": Case(5, [1.0] * 7, [100, 300, 500, 250, 250], 50, 3, 28, 280,
                                       readiness=["True"] * 5 + ["False"] * 2,
                                       phases=["Running"] * 5 + ["Failed"] * 2),
    "Tolerance": Case(3, [0.9, 1.0, 1.1], [1010, 1030, 1020], 100, 3, 102, 1020),
    "SuperfluousMetrics": Case(4, [1.0] * 4, [4000, 9500, 3000, 7000, 3200, 2000], 100, 24, 587, 5875),
    "MissingMetricsNoChangeEq": Case(2, [1.0] * 2, [1000], 100, 2, 100, 1000),
    "MissingMetricsNoChangeGt": Case(2, [1.0] * 2, [1900], 100, 2, 190, 1900),
    "MissingMetricsNoChangeLt": Case(2, [1.0] * 2, [600], 100, 2, 60, 600),
    "MissingMetricsUnreadyChange": Case(3, [1.0] * 3, [100, 450], 50, 3, 45, 450,
                                        readiness=["False", "True", "True"]),
    "MissingMetricsHotCpuNoChange": Case(3, [1.0] * 3, [100, 450], 50, 3, 45, 450,
                                         starts=[HOT, COOL, COOL]),
    "MissingMetricsUnreadyScaleUp": Case(3, [1.0] * 3, [100, 2000], 50, 4, 200, 2000,
                                         readiness=["False", "True", "True"]),
    "MissingMetricsHotCpuScaleUp": Case(3, [1.0] * 3, [100, 2000], 50, 4, 200, 2000,
                                        readiness=["False", "True", "True"], starts=[HOT, COOL, COOL]),
    "MissingMetricsUnreadyScaleDown": Case(4, [1.0] * 4, [100, 100, 100], 50, 3, 10, 100,
                                           readiness=["False", "True", "True", "True"]),
    "DuringRollingUpdateWithMaxSurge": Case(2, [1.0] * 3, [100, 100], 50, 2, 10, 100,
                                            phases=["Running"] * 3),
}


@pytest.mark.parametrize("name", list(CASES))
def test_kubernetes_case(name: str) -> None:
    case = CASES[name]
    got = resource_replicas(case.current, case.target, "cpu", _pods(case), _metrics(case.levels), NOW)
    assert (got.replicas, got.utilization, got.average) == (
        case.expected, case.utilization, case.value * CONTAINERS)


def test_missing_metrics_average_counts_only_measured_pods() -> None:
    """TestReplicaCalcMissingMetrics: the raw value is 495, the two measured pods' mean."""
    case = Case(4, [1.0] * 4, [400, 95], 100, 3, 24, 0)
    got = resource_replicas(4, 100, "cpu", _pods(case), _metrics(case.levels), NOW)
    assert (got.replicas, got.utilization, got.average) == (3, 24, 495)


def test_metrics_of_unknown_pods_only_is_an_error() -> None:
    """TestReplicaCalcDisjointResourcesMetrics."""
    case = Case(1, [1.0], [], 100, 0, 0, 0)
    with pytest.raises(ReplicaCalculationError, match="no metrics returned matched known pods"):
        resource_replicas(1, 100, "cpu", _pods(case), _metrics([100], ["an-older-pod-name"]), NOW)


def test_no_metrics_at_all_is_an_error() -> None:
    case = Case(4, [1.0] * 3, [], 100, 0, 0, 0)
    with pytest.raises(ReplicaCalculationError,
                       match="unable to get metrics for resource cpu: no metrics returned from resource metrics API"):
        resource_replicas(4, 100, "cpu", _pods(case), {}, NOW)


def test_a_pod_without_a_request_is_an_error() -> None:
    case = Case(1, [], [200], 100, 0, 0, 0)
    with pytest.raises(ReplicaCalculationError, match="missing request for"):
        resource_replicas(1, 100, "cpu", _pods(case), _metrics(case.levels), NOW)


@pytest.mark.parametrize(("start", "since", "status", "timestamp", "window", "ready_count"), [
    # ready, with a full window of metrics since it became ready, while initializing: counted
    (NOW - dt.timedelta(minutes=1), NOW - dt.timedelta(seconds=30), "True", NOW, 30, 1),
    # ...without a full window since: not counted
    (NOW - dt.timedelta(minutes=1), NOW - dt.timedelta(seconds=30), "True", NOW, 60, 0),
    # after the initialization period, unready but once ready: counted
    (NOW - dt.timedelta(minutes=10), NOW - dt.timedelta(minutes=9), "False", ZERO, 60, 1),
    # ...never ready since it started: not counted
    (NOW - dt.timedelta(minutes=10), NOW - dt.timedelta(minutes=9, seconds=50), "False", ZERO, 60, 0),
])
def test_group_pods_cpu_initialization(start: dt.datetime, since: dt.datetime, status: str,
                                       timestamp: dt.datetime, window: int, ready_count: int) -> None:
    """TestGroupPods' CPU cases."""
    pod = PodInfo(name="p", ready=(status, since), start_time=start, request=100)
    groups = group_pods([pod], {"p": PodMetric(1, timestamp, dt.timedelta(seconds=window))}, True, NOW)
    assert groups.ready_count == ready_count
    assert groups.unready == (set() if ready_count else {"p"})


def test_an_average_value_target_divides_usage_by_pods() -> None:
    """GetRawResourceReplicas: memory averaging 150Mi against 100Mi asks for half as many again."""
    mib = 1024 * 1024 * 1000  # milli-bytes
    pods = [PodInfo(name=f"pod-{i}", ready=("True", ZERO), start_time=ZERO, request=None)
            for i in range(2)]
    usage = {f"pod-{i}": PodMetric(150 * mib, NOW) for i in range(2)}
    got = raw_resource_replicas(2, 100 * mib, "memory", pods, usage, NOW)
    assert (got.replicas, got.utilization, got.average) == (3, None, 150 * mib)
    # within 10%: no change
    usage = {f"pod-{i}": PodMetric(105 * mib, NOW) for i in range(2)}
    assert raw_resource_replicas(2, 100 * mib, "memory", pods, usage, NOW).replicas == 2
