"""What a DaemonSet sync does to each node: pure functions over nodes and pods.

`manage` is dsc.manage's per-node decision (podsShouldBeOnNode): create a missing daemon pod,
delete failed, duplicate and no-longer-wanted ones. `rolling_update` is dsc.rollingUpdate:
with maxSurge 0, old pods are deleted while fewer than maxUnavailable nodes are unavailable;
with a surge, new pods start beside old ones, which go once the new one is available.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kubelite.controllers.podutil import (
    int_or_percent,
    is_available,
    is_terminating,
    meta,
    parse_time,
    pod_phase,
)

Obj = dict[str, Any]
HASH_LABEL = "controller-revision-hash"


@dataclass
class Plan:
    """Nodes to create a daemon pod on, and pods to delete."""

    create: list[str] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)


def target_node(pod: Obj) -> str:
    """util.GetTargetNodeName: spec.nodeName, or before binding the matchFields pin."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for req in term.get("matchFields") or []:
            if req.get("key") == "metadata.name" and req.get("operator") == "In" \
                    and len(req.get("values") or []) == 1:
                return str(req["values"][0])
    return ""


def _created(pod: Obj) -> tuple[float, str]:
    t = parse_time(meta(pod).get("creationTimestamp"))
    return (t.timestamp() if t else 0.0, str(meta(pod).get("name", "")))


def is_updated(pod: Obj, hash_: str) -> bool:
    return (meta(pod).get("labels") or {}).get(HASH_LABEL) == hash_


def surge_and_unavailable(ds: Obj, desired: int) -> tuple[int, int]:
    """util.SurgeCount and UnavailableCount (both rounded up); maxUnavailable at least 1 when
    no surge is allowed, as updatedValues guarantees progress."""
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 0
    ru = strategy.get("rollingUpdate") or {}
    surge = int_or_percent(ru.get("maxSurge"), desired, True)
    unavailable = int_or_percent(ru.get("maxUnavailable"), desired, True)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def manage(should_run: dict[str, tuple[bool, bool]], pods_by_node: dict[str, list[Obj]],
           hash_: str, surge_allowed: bool) -> Plan:
    """podsShouldBeOnNode for every node: `should_run` maps node -> (run, continue running)."""
    plan = Plan()
    for node in sorted(set(should_run) | set(pods_by_node)):
        run, keep = should_run.get(node, (False, False))
        pods = [p for p in pods_by_node.get(node, []) if not is_terminating(p)]
        if not keep:
            plan.delete += pods
            continue
        failed = [p for p in pods if pod_phase(p) == "Failed"]
        plan.delete += failed
        running = sorted((p for p in pods if pod_phase(p) not in ("Failed", "Succeeded")),
                         key=_created)
        if not running:
            if run:
                plan.create.append(node)
            continue
        if surge_allowed:
            # keep the oldest updated pod and the oldest old one; a surge leaves both
            keep_new = next((p for p in running if is_updated(p, hash_)), None)
            keep_old = next((p for p in running if not is_updated(p, hash_)), None)
            plan.delete += [p for p in running if p is not keep_new and p is not keep_old]
        else:
            plan.delete += running[1:]
    return plan


def _new_and_old(pods: list[Obj], hash_: str) -> tuple[Obj | None, Obj | None, bool]:
    """findUpdatedPodsOnNode: at most one new and one old live pod, else ok is False."""
    new = old = None
    for pod in pods:
        if is_terminating(pod) or pod_phase(pod) in ("Failed", "Succeeded"):
            continue
        if is_updated(pod, hash_):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def rolling_update(ds: Obj, pods_by_node: dict[str, list[Obj]], desired: int, hash_: str,
                   now: dt.datetime) -> Plan:
    """dsc.rollingUpdate: the old pods to delete now, and (with a surge) the nodes to add a
    new pod on beside the old one. Nodes go in name order, so the update goes node by node."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    max_surge, max_unavailable = surge_and_unavailable(ds, desired)
    plan = Plan()
    candidates: list[Any] = []
    if max_surge == 0:
        unavailable = 0
        for node in sorted(pods_by_node):
            new, old, ok = _new_and_old(pods_by_node[node], hash_)
            if not ok or (new is None) == (old is None):
                unavailable += 1
            elif new is not None:
                if not is_available(new, min_ready, now):
                    unavailable += 1
            elif old is not None:
                if not is_available(old, min_ready, now):
                    plan.delete.append(old)
                elif unavailable < max_unavailable:
                    candidates.append(old)
        room = max(0, min(max_unavailable - unavailable, len(candidates)))
        plan.delete += candidates[:room]
        return plan
    surged = 0
    for node in sorted(pods_by_node):
        new, old, ok = _new_and_old(pods_by_node[node], hash_)
        if not ok:
            surged += 1
        elif old is None:
            continue
        elif new is None:
            if not is_available(old, min_ready, now):
                plan.create.append(node)
            elif surged < max_surge:
                candidates.append(node)
        elif not is_available(new, min_ready, now):
            surged += 1
        else:
            plan.delete.append(old)
    room = max(0, min(max_surge - surged, len(candidates)))
    plan.create += candidates[:room]
    return plan
