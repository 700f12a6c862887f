"""`kubectl get hpa` (printHorizontalPodAutoscaler in pkg/printers/internalversion)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.tables._base import (
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    name,
    name_column,
    spec,
    status,
)

HPA_COLUMNS = columns(
    name_column(),
    Column("Reference", "string", "The reference to the autoscaled resource."),
    Column("Targets", "string", "The target and current values of the metrics."),
    Column("MinPods", "string", "Lower limit for the number of pods that can be set by the "
           "autoscaler, default 1."),
    Column("MaxPods", "integer", "Upper limit for the number of pods that can be set by the "
           "autoscaler; cannot be smaller than MinReplicas."),
    Column("Replicas", "integer", "Current number of replicas of pods managed by this autoscaler."),
    age_column(),
)

UNKNOWN = "<unknown>"
SHOWN_METRICS = 2


def _target(target: Obj, current: Obj | None) -> str:
    """`5%/50%` for a utilization, `10Mi/100Mi` for an average value."""
    if target.get("averageUtilization") is not None:
        now = current.get("averageUtilization") if current else None
        return f"{UNKNOWN if now is None else f'{now}%'}/{target['averageUtilization']}%"
    if target.get("averageValue") is not None:
        now = current.get("averageValue") if current else None
        return f"{now or UNKNOWN}/{target['averageValue']}"
    now = current.get("value") if current else None
    return f"{now or UNKNOWN}/{target.get('value')}"


def format_metrics(metrics: list[Obj], current: list[Obj]) -> str:
    """The Targets cell: `cpu: 5%/50%, memory: 10Mi/100Mi + 1 more...`."""
    if not metrics:
        return "<none>"
    cells = []
    for i, metric in enumerate(metrics):
        kind = metric.get("type")
        source = metric.get({"Resource": "resource", "ContainerResource": "containerResource",
                             "Pods": "pods", "Object": "object", "External": "external"}.get(
                                 str(kind), "resource")) or {}
        now = next((c for c in current if c.get("type") == kind and
                    (c.get(_key(kind)) or {}).get("name") == source.get("name")), None)
        label = source.get("name") or (source.get("metric") or {}).get("name", "")
        cells.append(f"{label}: {_target(source.get('target') or {}, (now or {}).get(_key(kind), {}).get('current') if now else None)}")
        if i + 1 == SHOWN_METRICS and len(metrics) > SHOWN_METRICS:
            return ", ".join(cells) + f" + {len(metrics) - SHOWN_METRICS} more..."
    return ", ".join(cells)


def _key(kind: Any) -> str:
    return "containerResource" if kind == "ContainerResource" else str(kind or "").lower()


def hpa_row(obj: Obj, now: dt.datetime) -> list[Any]:
    ref = spec(obj).get("scaleTargetRef") or {}
    minimum = spec(obj).get("minReplicas")
    return [name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            format_metrics(spec(obj).get("metrics") or [], status(obj).get("currentMetrics") or []),
            "<unset>" if minimum is None else str(minimum), spec(obj).get("maxReplicas") or 0,
            status(obj).get("currentReplicas") or 0, age(obj, now)]


HPA = Printer(HPA_COLUMNS, hpa_row)
