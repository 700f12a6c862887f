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


def _current(statuses: list[Obj], i: int, field: str) -> Obj | None:
    """statuses[i].<field>.current, matched by position as Kubernetes' printer does."""
    source = (statuses[i].get(field) if len(statuses) > i else None) or None
    return (source.get("current") or {}) if source is not None else None


def _metric_cell(metric: Obj, statuses: list[Obj], i: int) -> str:
    kind = metric.get("type")
    if kind in ("External", "Object"):
        field = kind.lower()
        target = (metric.get(field) or {}).get("target") or {}
        current = _current(statuses, i, field)
        if target.get("averageValue") is not None:
            return f"{(current or {}).get('averageValue') or UNKNOWN}/{target['averageValue']} (avg)"
        return f"{(current or {}).get('value') or UNKNOWN}/{target.get('value')}"
    if kind == "Pods":
        target = (metric.get("pods") or {}).get("target") or {}
        current = _current(statuses, i, "pods")
        return f"{(current or {}).get('averageValue') or UNKNOWN}/{target.get('averageValue')}"
    if kind in ("Resource", "ContainerResource"):
        field = "resource" if kind == "Resource" else "containerResource"
        source = metric.get(field) or {}
        target = source.get("target") or {}
        current = _current(statuses, i, field)
        if target.get("averageValue") is not None:
            now = (current or {}).get("averageValue") or UNKNOWN
            return f"{source.get('name')}: {now}/{target['averageValue']}"
        used = (current or {}).get("averageUtilization")
        wanted = target.get("averageUtilization")
        return (f"{source.get('name')}: {UNKNOWN if used is None else f'{used}%'}/"
                f"{'<auto>' if wanted is None else f'{wanted}%'}")
    return "<unknown type>"


def format_metrics(metrics: list[Obj], statuses: list[Obj]) -> str:
    """The Targets cell (formatHPAMetrics): `cpu: 5%/50%, memory: 10Mi/100Mi + 1 more...`."""
    if not metrics:
        return "<none>"
    cells = [_metric_cell(m, statuses, i) for i, m in enumerate(metrics)]
    if len(cells) > SHOWN_METRICS:
        return ", ".join(cells[:SHOWN_METRICS]) + f" + {len(cells) - SHOWN_METRICS} more..."
    return ", ".join(cells)


def hpa_row(obj: Obj, now: dt.datetime) -> list[Any]:
    ref = spec(obj).get("scaleTargetRef") or {}
    minimum = spec(obj).get("minReplicas")
    return [name(obj), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            format_metrics(spec(obj).get("metrics") or [], status(obj).get("currentMetrics") or []),
            "<unset>" if minimum is None else str(minimum), spec(obj).get("maxReplicas") or 0,
            status(obj).get("currentReplicas") or 0, age(obj, now)]


HPA = Printer(HPA_COLUMNS, hpa_row)
