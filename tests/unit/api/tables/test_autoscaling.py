"""`kubectl get hpa`'s Targets cell, as printHorizontalPodAutoscaler writes it."""

from __future__ import annotations

from kubelite.api.tables.autoscaling import format_metrics

CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                   "averageUtilization": 50}}}
MEM = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                      "averageValue": "100Mi"}}}
PODS = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue",
                                                                       "averageValue": "10"}}}


def test_no_status_yet_is_unknown() -> None:
    assert format_metrics([CPU], []) == "cpu: <unknown>/50%"


def test_utilization_and_average_value() -> None:
    statuses = [{"type": "Resource", "resource": {"name": "cpu", "current": {
                    "averageUtilization": 12, "averageValue": "6m"}}},
                {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "20Mi"}}}]
    assert format_metrics([CPU, MEM], statuses) == "cpu: 12%/50%, memory: 20Mi/100Mi"


def test_a_failed_metric_status_prints_unknown() -> None:
    assert format_metrics([CPU], [{"type": ""}]) == "cpu: <unknown>/50%"


def test_more_than_two_metrics_are_counted() -> None:
    assert format_metrics([CPU, MEM, PODS], []) == (
        "cpu: <unknown>/50%, memory: <unknown>/100Mi + 1 more...")


def test_no_metrics() -> None:
    assert format_metrics([], []) == "<none>"
