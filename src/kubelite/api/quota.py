"""Quota arithmetic: what a pod or an object is charged against a ResourceQuota.

The arithmetic Kubernetes' pod evaluator does (pkg/quota/v1/evaluator/core/pods.go). The API
server's quota admission and the resourcequota controller share it, so the figure a refusal
quotes is the figure `kubectl describe quota` shows.

A pod is charged for compute (`pods`, `requests.*`, `limits.*`, `cpu`, `memory`) until it ends
(phase Succeeded or Failed) or its deletion grace period has run out; `count/pods` counts every
stored pod. Other kinds are counted as objects (`count/<resource>[.<group>]`, and the legacy
names `services`, `configmaps`, `secrets`, `persistentvolumeclaims`, `resourcequotas`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from kubelite.api.quantity import Quantity, QuantityError, canonical, parse_quantity

Obj = dict[str, Any]
Usage = dict[str, Quantity]

ONE = parse_quantity("1")
#: Resources for which every container must state a value once a quota tracks them.
VALIDATION_SET = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
#: Legacy object-count names and the plural they count.
LEGACY_COUNTS = {
    "services": "services", "configmaps": "configmaps", "secrets": "secrets",
    "persistentvolumeclaims": "persistentvolumeclaims", "resourcequotas": "resourcequotas",
    "replicationcontrollers": "replicationcontrollers",
}  # fmt: skip


# -- quantities -----------------------------------------------------------------------------

def _q(value: Any) -> Quantity | None:
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def add(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> Usage:
    out = dict(a)
    for name, q in b.items():
        out[name] = out[name] + q if name in out else q
    return out


def resource_list(raw: Mapping[str, Any] | None) -> Usage:
    """A ResourceList of strings as quantities (values that do not parse are left out)."""
    out: Usage = {}
    for name, value in (raw or {}).items():
        q = _q(value)
        if q is not None:
            out[name] = q
    return out


def pretty(usage: Mapping[str, Quantity]) -> str:
    """`requests.cpu=500m,requests.memory=1Gi`: sorted, as the quota admission prints it."""
    return ",".join(f"{k}={canonical(usage[k])}" for k in sorted(usage))


# -- pods -----------------------------------------------------------------------------------

def _containers(pod: Obj, key: str) -> list[Obj]:
    return list((pod.get("spec") or {}).get(key) or [])


def pod_requests_limits(pod: Obj) -> tuple[Usage, Usage]:
    """The pod's effective requests and limits: the sum over its containers, at least the
    largest init container, plus the pod overhead (resourcehelper.PodRequests/PodLimits)."""
    totals: list[Usage] = [{}, {}]
    for i, field in enumerate(("requests", "limits")):
        total: Usage = {}
        for c in _containers(pod, "containers"):
            total = add(total, resource_list((c.get("resources") or {}).get(field)))
        for c in _containers(pod, "initContainers"):
            for name, q in resource_list((c.get("resources") or {}).get(field)).items():
                if name not in total or q > total[name]:
                    total[name] = q
        overhead = resource_list((pod.get("spec") or {}).get("overhead"))
        if field == "limits":  # overhead is added to a limit only where one is set
            overhead = {k: v for k, v in overhead.items() if k in total}
        totals[i] = add(total, overhead)
    return totals[0], totals[1]


def _compute_usage(requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]) -> Usage:
    out: Usage = {"pods": ONE}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            out[name] = requests[name]
            out[f"requests.{name}"] = requests[name]
        if name in limits:
            out[f"limits.{name}"] = limits[name]
    for name, q in requests.items():
        if name.startswith("hugepages-"):
            out[name] = q
            out[f"requests.{name}"] = q
        elif "/" in name and not name.startswith("kubernetes.io/"):
            out[f"requests.{name}"] = q  # extended resources are quota'd by request only
    return out


def _grace_expired(pod: Obj, now: dt.datetime) -> bool:
    meta = pod.get("metadata") or {}
    ts = meta.get("deletionTimestamp")
    if not ts:
        return False
    try:
        when = dt.datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return False
    return now > when


def pod_charged(pod: Obj, now: dt.datetime | None = None) -> bool:
    """Whether a pod still counts against compute quota (QuotaV1Pod)."""
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        return False
    return not _grace_expired(pod, now or dt.datetime.now(dt.UTC))


def pod_usage(pod: Obj, now: dt.datetime | None = None) -> Usage:
    """What one pod is charged (PodUsageFunc)."""
    out: Usage = {"count/pods": ONE}
    if not pod_charged(pod, now):
        return out
    requests, limits = pod_requests_limits(pod)
    return add(out, _compute_usage(requests, limits))


def missing_constraints(pod: Obj, tracked: Iterable[str]) -> str:
    """'' or the `must specify ...` text: resources a quota tracks that a container leaves
    unset (the pod evaluator's Constraints; only cpu and memory are required)."""
    required = sorted(set(tracked) & set(VALIDATION_SET))
    if not required:
        return ""
    missing: dict[str, set[str]] = {}
    for c in _containers(pod, "containers") + _containers(pod, "initContainers"):
        res = c.get("resources") or {}
        have = _compute_usage(resource_list(res.get("requests")), resource_list(res.get("limits")))
        for name in required:
            if name not in have:
                missing.setdefault(name, set()).add(str(c.get("name", "")))
    if not missing:
        return ""
    parts = [f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing)]
    return "must specify " + "; ".join(parts)


# -- quotas ---------------------------------------------------------------------------------

def quota_hard(quota: Obj) -> Usage:
    return resource_list((quota.get("spec") or {}).get("hard"))


def count_resource_name(plural: str, group: str = "") -> str:
    return f"count/{plural}.{group}" if group else f"count/{plural}"


def is_pod_resource(name: str) -> bool:
    return name in ("pods", "count/pods", "cpu", "memory", "ephemeral-storage") or \
        name.startswith(("requests.", "limits.", "hugepages-"))


def counted_plural(name: str) -> tuple[str, str] | None:
    """(plural, group) an object-count resource name counts, or None."""
    if name in LEGACY_COUNTS:
        return LEGACY_COUNTS[name], ""
    if name.startswith("count/") and name != "count/pods":
        plural, _, group = name[len("count/"):].partition(".")
        return plural, group
    return None


def matches_scopes(quota: Obj, pod: Obj) -> bool:
    """The quota's `scopes` (BestEffort, NotBestEffort, Terminating, NotTerminating) select
    the pod. Scope selectors by priority class are not supported: such a quota matches all."""
    scopes = (quota.get("spec") or {}).get("scopes") or []
    spec = pod.get("spec") or {}
    requests, limits = pod_requests_limits(pod)
    best_effort = not any(k in ("cpu", "memory") for k in (*requests, *limits))
    deadline = spec.get("activeDeadlineSeconds")
    terminating = deadline is not None and int(deadline) >= 0
    for scope in scopes:
        if scope == "BestEffort" and not best_effort:
            return False
        if scope == "NotBestEffort" and best_effort:
            return False
        if scope == "Terminating" and not terminating:
            return False
        if scope == "NotTerminating" and terminating:
            return False
    return True


def used_by_pods(quota: Obj, pods: Iterable[Obj]) -> Usage:
    """The quota's pod resources as used by `pods` (those of its namespace)."""
    hard = quota_hard(quota)
    total: Usage = {k: parse_quantity("0") for k in hard if is_pod_resource(k)}
    for pod in pods:
        if matches_scopes(quota, pod):
            for name, q in pod_usage(pod).items():
                if name in total:
                    total[name] = total[name] + q
    return total
