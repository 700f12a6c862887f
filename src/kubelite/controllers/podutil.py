"""Pure helpers the workload controllers share: owner references, selectors, pod states, time.

Objects are plain JSON dicts as informers with `raw=True` hold them. Nothing here talks to
the API server.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.selectors import LabelSelector, SelectorError, label_selector_from_struct

Obj = dict[str, Any]


# -- time ---------------------------------------------------------------------------------

def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def rfc3339(t: dt.datetime) -> str:
    """metav1.Time: 2006-01-02T15:04:05Z."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# -- metadata -----------------------------------------------------------------------------

def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def key_of(obj: Obj) -> str:
    m = meta(obj)
    return f"{m['namespace']}/{m['name']}" if m.get("namespace") else str(m.get("name"))


def uid_of(obj: Obj) -> str:
    return str(meta(obj).get("uid") or "")


def labels_of(obj: Obj) -> dict[str, str]:
    return dict(meta(obj).get("labels") or {})


def controller_ref(obj: Obj) -> Obj | None:
    """The ownerReference with controller: true, if any (there is at most one)."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def owner_reference(owner: Obj, api_version: str, kind: str) -> Obj:
    """A controller ownerReference to `owner`, as Kubernetes' controllers write them."""
    m = meta(owner)
    return {"apiVersion": api_version, "kind": kind, "name": m["name"], "uid": m["uid"],
            "controller": True, "blockOwnerDeletion": True}


def selector_of(obj: Obj) -> LabelSelector:
    """The spec.selector of a ReplicaSet, Deployment or PDB, or a ReplicationController's map
    selector; a bad selector selects nothing."""
    selector = (obj.get("spec") or {}).get("selector")
    if obj.get("kind") == "ReplicationController" or (
            isinstance(selector, dict) and selector
            and all(isinstance(v, str) for v in selector.values())):
        selector = {"matchLabels": selector} if selector else {"matchLabels": {"": ""}}
    try:
        return label_selector_from_struct(selector)
    except (SelectorError, ValueError):
        return LabelSelector.nothing()


def is_terminating(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


# -- pods ---------------------------------------------------------------------------------

def pod_phase(pod: Obj) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_active(pod: Obj) -> bool:
    """Counts toward a ReplicaSet (controller.IsPodActive): not finished, not being deleted."""
    return pod_phase(pod) not in ("Succeeded", "Failed") and not is_terminating(pod)


def ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def is_ready(pod: Obj) -> bool:
    cond = ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def ready_since(pod: Obj) -> dt.datetime | None:
    cond = ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime")) or parse_time(meta(pod).get("creationTimestamp"))


def is_available(pod: Obj, min_ready_seconds: int, now: dt.datetime) -> bool:
    """Ready for at least minReadySeconds (podutil.IsPodAvailable)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + dt.timedelta(seconds=min_ready_seconds) <= now


def restart_count(pod: Obj) -> int:
    return sum(int(s.get("restartCount") or 0)
               for s in (pod.get("status") or {}).get("containerStatuses") or [])


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_cost_order(pod: Obj) -> tuple[Any, ...]:
    """Sort key putting the pods to delete first (controller.ActivePods ordering).

    Unassigned before assigned, Pending before Unknown before Running, not ready before ready,
    ready for a shorter time first, more restarts first, newer before older.
    """
    assigned = 1 if (pod.get("spec") or {}).get("nodeName") else 0
    ready = 1 if is_ready(pod) else 0
    since = ready_since(pod)
    ready_for = -(since.timestamp()) if since else 0.0  # later readiness (shorter) first
    created = parse_time(meta(pod).get("creationTimestamp"))
    newer_first = -(created.timestamp()) if created else 0.0
    return (assigned, _PHASE_RANK.get(pod_phase(pod), 0), ready, ready_for,
            -restart_count(pod), newer_first, meta(pod).get("name", ""))


# -- intstr -------------------------------------------------------------------------------

def int_or_percent(value: int | str | None, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: 2 -> 2, "25%" of 10 -> 3 (up) or 2 (down)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"invalid value for IntOrString: invalid value {text!r}") from None
    try:
        percent = int(text[:-1])
    except ValueError:
        raise ValueError(f"invalid value for IntOrString: invalid value {text!r}") from None
    scaled = percent * total
    return -(-scaled // 100) if round_up else scaled // 100
