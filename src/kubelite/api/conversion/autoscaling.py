"""autoscaling/v1 HorizontalPodAutoscaler <-> the stored autoscaling/v2 one
(pkg/apis/autoscaling/v1/conversion.go).

v1 knows one metric, targetCPUUtilizationPercentage: it is v2's Resource `cpu` metric with
an Utilization target. What v1 cannot hold travels in annotations, as Kubernetes does:
the other Resource metrics (in v1's MetricSpec shape), the behavior, the conditions and the
current metrics. Pods, Object, External and ContainerResource metrics are left out of the
v1 view (a v1 write drops them).
"""

from __future__ import annotations

import json
from typing import Any

Obj = dict[str, Any]
API_VERSION = "autoscaling/v1"

METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
_OURS = (METRICS, CURRENT_METRICS, CONDITIONS, BEHAVIOR)

FIELD_LABELS = {"metadata.name": "metadata.name", "metadata.namespace": "metadata.namespace"}


def _is_cpu_utilization(metric: Obj) -> bool:
    res = metric.get("resource") or {}
    return (metric.get("type") == "Resource" and res.get("name") == "cpu"
            and (res.get("target") or {}).get("type") == "Utilization")


def _v1_metric(metric: Obj) -> Obj | None:
    """A v2 Resource metric in v1's (v2beta1) annotation shape; None for other kinds."""
    res = metric.get("resource")
    if metric.get("type") != "Resource" or not res:
        return None
    target = res.get("target") or {}
    out: Obj = {"name": res.get("name")}
    if target.get("averageUtilization") is not None:
        out["targetAverageUtilization"] = target["averageUtilization"]
    if target.get("averageValue") is not None:
        out["targetAverageValue"] = target["averageValue"]
    return {"type": "Resource", "resource": out}


def _v2_metric(metric: Obj) -> Obj | None:
    res = metric.get("resource")
    if metric.get("type") != "Resource" or not res:
        return None
    if res.get("targetAverageUtilization") is not None:
        target: Obj = {"type": "Utilization", "averageUtilization": res["targetAverageUtilization"]}
    else:
        target = {"type": "AverageValue", "averageValue": res.get("targetAverageValue")}
    return {"type": "Resource", "resource": {"name": res.get("name"), "target": target}}


def _v1_current(metric: Obj) -> Obj | None:
    res = metric.get("resource")
    if metric.get("type") != "Resource" or not res:
        return None
    current = res.get("current") or {}
    out: Obj = {"name": res.get("name"), "currentAverageValue": current.get("averageValue") or "0"}
    if current.get("averageUtilization") is not None:
        out["currentAverageUtilization"] = current["averageUtilization"]
    return {"type": "Resource", "resource": out}


def _v2_current(metric: Obj) -> Obj | None:
    res = metric.get("resource")
    if metric.get("type") != "Resource" or not res:
        return None
    current: Obj = {"averageValue": res.get("currentAverageValue")}
    if res.get("currentAverageUtilization") is not None:
        current["averageUtilization"] = res["currentAverageUtilization"]
    return {"type": "Resource", "resource": {"name": res.get("name"), "current": current}}


def _loads(annotations: dict[str, str], key: str) -> Any:
    try:
        return json.loads(annotations[key]) if key in annotations else None
    except ValueError:
        return None


def to_v2(hpa: Obj) -> Obj:
    """An autoscaling/v1 HPA as autoscaling/v2 stores it."""
    metadata = dict(hpa.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    spec = dict(hpa.get("spec") or {})
    metrics: list[Obj] = []
    cpu = spec.pop("targetCPUUtilizationPercentage", None)
    if cpu is not None:
        metrics.append({"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}})
    metrics += [m for m in map(_v2_metric, _loads(annotations, METRICS) or []) if m]
    if metrics:
        spec["metrics"] = metrics
    behavior = _loads(annotations, BEHAVIOR)
    if behavior:
        spec["behavior"] = behavior
    out: Obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler"}
    status = dict(hpa.get("status") or {})
    status.pop("currentCPUUtilizationPercentage", None)
    current = [m for m in map(_v2_current, _loads(annotations, CURRENT_METRICS) or []) if m]
    if current:
        status["currentMetrics"] = current
    conditions = _loads(annotations, CONDITIONS)
    if conditions:
        status["conditions"] = conditions
    for key in _OURS:
        annotations.pop(key, None)
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    out["metadata"] = metadata
    out["spec"] = spec
    if status:
        out["status"] = status
    return out


def from_v2(hpa: Obj) -> Obj:
    """A stored autoscaling/v2 HPA in the autoscaling/v1 shape."""
    metadata = dict(hpa.get("metadata") or {})
    annotations = dict(metadata.get("annotations") or {})
    spec = dict(hpa.get("spec") or {})
    metrics = spec.pop("metrics", None) or []
    others = []
    for metric in metrics:
        if _is_cpu_utilization(metric) and "targetCPUUtilizationPercentage" not in spec:
            spec["targetCPUUtilizationPercentage"] = metric["resource"]["target"].get("averageUtilization")
        elif (converted := _v1_metric(metric)) is not None:
            others.append(converted)
    if others:
        annotations[METRICS] = json.dumps(others, separators=(",", ":"))
    behavior = spec.pop("behavior", None)
    if behavior:
        annotations[BEHAVIOR] = json.dumps(behavior, separators=(",", ":"))
    status_in = hpa.get("status") or {}
    status: Obj = {"currentReplicas": status_in.get("currentReplicas") or 0,
                   "desiredReplicas": status_in.get("desiredReplicas") or 0}
    for name in ("observedGeneration", "lastScaleTime"):
        if status_in.get(name) is not None:
            status[name] = status_in[name]
    current_others = []
    for metric in status_in.get("currentMetrics") or []:
        res = metric.get("resource") or {}
        if metric.get("type") == "Resource" and res.get("name") == "cpu" and \
                (res.get("current") or {}).get("averageUtilization") is not None:
            status["currentCPUUtilizationPercentage"] = res["current"]["averageUtilization"]
        elif (converted := _v1_current(metric)) is not None:
            current_others.append(converted)
    if current_others:
        annotations[CURRENT_METRICS] = json.dumps(current_others, separators=(",", ":"))
    if status_in.get("conditions"):
        annotations[CONDITIONS] = json.dumps(status_in["conditions"], separators=(",", ":"))
    if annotations:
        metadata["annotations"] = annotations
    return {"kind": "HorizontalPodAutoscaler", "apiVersion": API_VERSION, "metadata": metadata,
            "spec": spec, "status": status}
