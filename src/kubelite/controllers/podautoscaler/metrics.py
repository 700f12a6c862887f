"""Reading pods and their usage for the replica calculator (metrics/client.go,
GetResourceMetric, and calculatePodRequests): PodMetrics from metrics.k8s.io summed over a
pod's containers, requests summed over its containers, all in milli-units."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.quantity import QuantityError, canonical, parse_quantity
from kubelite.controllers.podautoscaler.replica_calculator import PodInfo, PodMetric
from kubelite.controllers.podutil import meta, parse_time, ready_condition

Obj = dict[str, Any]
METRICS_PATH = "/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods"


def _milli(value: Any) -> int:
    return parse_quantity(str(value)).milli_value()


def _window(value: Any) -> dt.timedelta:
    text = str(value or "30s")
    try:
        return dt.timedelta(seconds=float(text.removesuffix("s")))
    except ValueError:
        return dt.timedelta(seconds=30)


def pod_metrics(items: list[Obj], resource: str) -> dict[str, PodMetric]:
    """Pod name -> its usage of `resource`; pods missing the resource in a container are left
    out (as metrics-server's client does)."""
    out: dict[str, PodMetric] = {}
    for item in items:
        containers = item.get("containers") or []
        try:
            usages = [_milli((c.get("usage") or {})[resource]) for c in containers]
        except (KeyError, QuantityError):
            continue
        if not usages:
            continue
        when = parse_time(item.get("timestamp")) or dt.datetime.now(dt.UTC)
        out[meta(item).get("name", "")] = PodMetric(sum(usages), when, _window(item.get("window")))
    return out


def pod_request(pod: Obj, resource: str) -> int | None:
    """The sum of the containers' requests of `resource`, None if one has none."""
    total = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        value = ((container.get("resources") or {}).get("requests") or {}).get(resource)
        if value is None:
            return None
        total += _milli(value)
    return total


def pod_info(pod: Obj, resource: str) -> PodInfo:
    status = pod.get("status") or {}
    cond = ready_condition(pod)
    ready = None
    if cond is not None:
        since = parse_time(cond.get("lastTransitionTime")) or dt.datetime.min.replace(tzinfo=dt.UTC)
        ready = (str(cond.get("status")), since)
    return PodInfo(name=meta(pod).get("name", ""), phase=status.get("phase") or "Pending",
                   deleting=meta(pod).get("deletionTimestamp") is not None, ready=ready,
                   start_time=parse_time(status.get("startTime")),
                   request=pod_request(pod, resource))


def milli_quantity(milli: int) -> str:
    """resource.NewMilliQuantity(v, DecimalSI) as it prints: `250m`, `2`, `104857600`."""
    return canonical(f"{milli}m")
