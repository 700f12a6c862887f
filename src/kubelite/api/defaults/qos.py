"""A pod's quality-of-service class, as Kubernetes computes it (ComputePodQOS)."""

from __future__ import annotations

from collections.abc import Mapping

from kubelite.api.defaults.quantities import parse_quantity_cached
from kubelite.api.quantity import Quantity, QuantityError
from kubelite.api.types import core_v1

QOS_RESOURCES = ("cpu", "memory")


def _positive(resources: Mapping[str, object] | None) -> dict[str, Quantity]:
    out: dict[str, Quantity] = {}
    for name, raw in (resources or {}).items():
        if name not in QOS_RESOURCES or not isinstance(raw, str | int | float):
            continue
        try:
            q = parse_quantity_cached(raw)
        except QuantityError:
            continue
        if q.nanos > 0:
            out[name] = q
    return out


def pod_qos_class(pod: core_v1.Pod) -> str:
    """"Guaranteed", "Burstable" or "BestEffort"."""
    spec = pod.spec
    containers = list(spec.containers) + list(spec.init_containers or []) if spec else []
    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    guaranteed = True
    for ctr in containers:
        res = ctr.resources or core_v1.ResourceRequirements()
        for name, q in _positive(res.requests).items():
            requests[name] = requests[name] + q if name in requests else q
        found = _positive(res.limits)
        for name, q in found.items():
            limits[name] = limits[name] + q if name in limits else q
        if not all(r in found for r in QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed:
        for name, req in requests.items():
            if limits.get(name) != req:
                guaranteed = False
                break
    if guaranteed and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"
