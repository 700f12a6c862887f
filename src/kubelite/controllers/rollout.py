"""The arithmetic of a Deployment rollout (pkg/controller/deployment/util), as pure functions.

Given a Deployment and its ReplicaSets (JSON dicts), these decide how big the new ReplicaSet
may grow, how many old pods may go, what the status and conditions say, and which
ReplicaSets are history. The controller in `deployment.py` only reads caches and writes
what these functions decide.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

from kubelite.controllers.podutil import Obj, int_or_percent, meta, parse_time, rfc3339

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
# Annotations a Deployment does not copy onto its ReplicaSets.
SKIP_ANNOTATIONS = frozenset({
    "kubectl.kubernetes.io/last-applied-configuration", REVISION, REVISION_HISTORY,
    DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to",
})

# Condition reasons and messages (pkg/controller/deployment/util/deployment_util.go).
AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MSG_AVAILABLE = "Deployment has minimum availability."
MSG_UNAVAILABLE = "Deployment does not have minimum availability."

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


# -- templates and revisions --------------------------------------------------------------

def template_hash(template: Obj, collision_count: int | None = None) -> str:
    """A short, stable hash of a pod template (controller.ComputeHash, FNV-32a + safe encode)."""
    return safe_hash(json.dumps(without_hash(template), sort_keys=True, separators=(",", ":")),
                     collision_count)


def safe_hash(text: str, collision_count: int | None = None) -> str:
    """FNV-32a of `text` (and the collision count), in rand.SafeEncodeString's alphabet."""
    data = text.encode()
    if collision_count:
        data += str(collision_count).encode()
    h = 0x811C9DC5
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in str(h))


def _prune(value: Any) -> Any:
    """Drop empty objects and lists, as Go's zero-valued structs compare equal to absent ones
    (kubectl's rollback sends `resources: {}`); `emptyDir: {}` means something and stays."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _prune(v)
            if v is None or (v == {} and k != "emptyDir") or v == []:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def without_hash(template: Obj) -> Obj:
    """The template without its pod-template-hash label, normalized for comparison."""
    t = _prune(copy.deepcopy(template or {}))
    labels = (t.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(HASH_LABEL, None)
        if not labels:
            t["metadata"].pop("labels")
    if "metadata" in t and not t["metadata"]:
        t.pop("metadata")
    return t


def equal_ignore_hash(a: Obj, b: Obj) -> bool:
    return without_hash(a) == without_hash(b)


def spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def replicas(obj: Obj) -> int:
    value = spec(obj).get("replicas")
    return 1 if value is None else int(value)


def annotations_of(obj: Obj) -> dict[str, str]:
    return dict(meta(obj).get("annotations") or {})


def revision(obj: Obj) -> int:
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(sets: list[Obj]) -> int:
    return max((revision(rs) for rs in sets), default=0)


def created(obj: Obj) -> tuple[str, str]:
    return (meta(obj).get("creationTimestamp") or "", meta(obj).get("name") or "")


def find_new(deployment: Obj, sets: list[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template equals the Deployment's (FindNewReplicaSet)."""
    template = spec(deployment).get("template") or {}
    for rs in sorted(sets, key=created):
        if equal_ignore_hash(spec(rs).get("template") or {}, template):
            return rs
    return None


def copyable_annotations(deployment: Obj) -> dict[str, str]:
    return {k: v for k, v in annotations_of(deployment).items() if k not in SKIP_ANNOTATIONS}


def new_replica_set(deployment: Obj, collision_count: int | None, revision_number: int,
                    new_replicas: int) -> Obj:
    """The ReplicaSet a Deployment creates for its current template."""
    template = copy.deepcopy(spec(deployment).get("template") or {})
    pod_hash = template_hash(template, collision_count)
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), HASH_LABEL: pod_hash}
    selector = copy.deepcopy(spec(deployment).get("selector") or {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    m = meta(deployment)
    rs_annotations = copyable_annotations(deployment)
    rs_annotations[REVISION] = str(revision_number)
    rs_annotations[DESIRED_REPLICAS] = str(replicas(deployment))
    rs_annotations[MAX_REPLICAS] = str(replicas(deployment) + max_surge(deployment))
    rs_spec: Obj = {"replicas": new_replicas, "selector": selector, "template": template}
    if spec(deployment).get("minReadySeconds"):
        rs_spec["minReadySeconds"] = spec(deployment)["minReadySeconds"]
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{m['name']}-{pod_hash}", "namespace": m.get("namespace"),
                     "labels": dict(tmeta["labels"]), "annotations": rs_annotations,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                          "name": m["name"], "uid": m["uid"],
                                          "controller": True, "blockOwnerDeletion": True}]},
        "spec": rs_spec,
    }


def revision_history(rs: Obj, new_revision: int) -> dict[str, str] | None:
    """Annotations for a ReplicaSet that becomes new again (a rollback): its old revision
    moves into revision-history. None when its revision is already current."""
    old = revision(rs)
    if old >= new_revision:
        return None
    history = [h for h in annotations_of(rs).get(REVISION_HISTORY, "").split(",") if h]
    if old:
        history.append(str(old))
    out = {REVISION: str(new_revision)}
    if history:
        out[REVISION_HISTORY] = ",".join(history)
    return out


# -- surge and unavailability -------------------------------------------------------------

def is_rolling(deployment: Obj) -> bool:
    return ((spec(deployment).get("strategy") or {}).get("type") or "RollingUpdate") == "RollingUpdate"


def fenceposts(deployment: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as numbers; both zero means one may be unavailable."""
    rolling = (spec(deployment).get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(deployment)
    surge = int_or_percent(rolling.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = int_or_percent(rolling.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(deployment: Obj) -> int:
    return fenceposts(deployment)[0] if is_rolling(deployment) else 0


def max_unavailable(deployment: Obj) -> int:
    if not is_rolling(deployment) or replicas(deployment) == 0:
        return 0
    return min(fenceposts(deployment)[1], replicas(deployment))


def available(rs: Obj) -> int:
    """Available pods of a ReplicaSet, never more than it should keep (a stale status of a set
    being scaled down must not be counted on)."""
    return min(int(status(rs).get("availableReplicas") or 0), replicas(rs))


def new_rs_replicas(deployment: Obj, all_sets: list[Obj], new_rs: Obj | None) -> int:
    """How many replicas the new ReplicaSet may have now (NewRSNewReplicas)."""
    wanted = replicas(deployment)
    if not is_rolling(deployment):
        return wanted
    current_new = replicas(new_rs) if new_rs is not None else 0
    current_total = sum(replicas(rs) for rs in all_sets)
    max_total = wanted + max_surge(deployment)
    if current_total >= max_total:
        return current_new
    return current_new + min(max_total - current_total, wanted - current_new)


def old_scale_down_plan(deployment: Obj, old_sets: list[Obj], new_rs: Obj | None) -> dict[str, int]:
    """New sizes for old ReplicaSets during a rolling update (reconcileOldReplicaSets): first
    unhealthy replicas go, then healthy ones while minimum availability allows."""
    all_sets = old_sets + ([new_rs] if new_rs is not None else [])
    if sum(replicas(rs) for rs in old_sets) == 0:
        return {}
    min_available = replicas(deployment) - max_unavailable(deployment)
    new_unavailable = (replicas(new_rs) - available(new_rs)) if new_rs is not None else 0
    max_scaled_down = sum(replicas(rs) for rs in all_sets) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    sizes = {meta(rs)["name"]: replicas(rs) for rs in old_sets}
    ordered = sorted(old_sets, key=created)
    cleaned = 0
    for rs in ordered:  # cleanupUnhealthyReplicas
        name = meta(rs)["name"]
        if cleaned >= max_scaled_down:
            break
        unhealthy = sizes[name] - available(rs)
        if sizes[name] == 0 or unhealthy <= 0:
            continue
        take = min(max_scaled_down - cleaned, unhealthy)
        sizes[name] -= take
        cleaned += take
    # scaleDownOldReplicaSetsForRollingUpdate, with the sizes after the cleanup
    available_now = sum(min(available(rs), sizes.get(meta(rs)["name"], replicas(rs)))
                        for rs in all_sets)
    budget = available_now - min_available
    for rs in ordered:
        if budget <= 0:
            break
        name = meta(rs)["name"]
        if sizes[name] == 0:
            continue
        take = min(sizes[name], budget)
        sizes[name] -= take
        budget -= take
    return {name: size for name, size in sizes.items()
            if size != replicas(next(rs for rs in old_sets if meta(rs)["name"] == name))}


def proportional_sizes(deployment: Obj, active: list[Obj]) -> dict[str, int]:
    """New sizes when a Deployment with several active ReplicaSets is scaled (dc.scale)."""
    wanted = replicas(deployment)
    allowed = wanted + max_surge(deployment) if wanted > 0 else 0
    current = sum(replicas(rs) for rs in active)
    to_add = allowed - current
    if to_add == 0:
        return {}
    if to_add > 0:  # bigger and newer first
        ordered = sorted(active, key=lambda rs: (-replicas(rs), tuple(-ord(c) for c in created(rs)[0])))
    else:  # bigger and older first
        ordered = sorted(active, key=lambda rs: (-replicas(rs), created(rs)))
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        name = meta(rs)["name"]
        size = replicas(rs)
        if wanted == 0:
            fraction = -size
        else:
            try:
                annotated = int(annotations_of(rs).get(MAX_REPLICAS, "0"))
            except ValueError:
                annotated = 0
            annotated = annotated or int(status(deployment).get("replicas") or 0) or size or 1
            fraction = round(size * allowed / annotated) - size
        left = to_add - added
        step = min(fraction, left) if to_add > 0 else max(fraction, left)
        sizes[name] = size + step
        added += step
    if added != to_add and ordered:
        first = meta(ordered[0])["name"]
        sizes[first] = max(0, sizes[first] + to_add - added)
    return {n: s for n, s in sizes.items()
            if s != replicas(next(rs for rs in active if meta(rs)["name"] == n))}


def is_scaling_event(deployment: Obj, active: list[Obj]) -> bool:
    """Some active ReplicaSet was sized for a different spec.replicas (desired-replicas)."""
    for rs in active:
        desired = annotations_of(rs).get(DESIRED_REPLICAS)
        if desired is not None and desired != str(replicas(deployment)):
            return True
    return False


def is_saturated(deployment: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    return (annotations_of(rs).get(DESIRED_REPLICAS) == str(replicas(deployment))
            and replicas(rs) == replicas(deployment)
            and int(status(rs).get("availableReplicas") or 0) == replicas(deployment))


def history_to_delete(deployment: Obj, old_sets: list[Obj]) -> list[Obj]:
    """Old, empty ReplicaSets beyond revisionHistoryLimit, oldest revision first."""
    limit = spec(deployment).get("revisionHistoryLimit")
    limit = 10 if limit is None else int(limit)
    cleanable = [rs for rs in old_sets
                 if replicas(rs) == 0 and not status(rs).get("replicas")
                 and int(status(rs).get("observedGeneration") or 0) >= int(meta(rs).get("generation") or 0)
                 and not meta(rs).get("deletionTimestamp")]
    extra = len(cleanable) - limit
    if extra <= 0:
        return []
    return sorted(cleanable, key=lambda rs: (revision(rs), created(rs)))[:extra]


# -- status -------------------------------------------------------------------------------

def calculate_status(deployment: Obj, all_sets: list[Obj], new_rs: Obj | None) -> Obj:
    """Counts of the Deployment's status (calculateStatus); conditions are added separately."""
    avail = sum(int(status(rs).get("availableReplicas") or 0) for rs in all_sets)
    out: Obj = {
        "observedGeneration": meta(deployment).get("generation") or 1,
        "replicas": sum(int(status(rs).get("replicas") or 0) for rs in all_sets),
        "updatedReplicas": int(status(new_rs).get("replicas") or 0) if new_rs is not None else 0,
        "readyReplicas": sum(int(status(rs).get("readyReplicas") or 0) for rs in all_sets),
        "availableReplicas": avail,
        "unavailableReplicas": max(0, replicas(deployment) - avail),
    }
    collisions = status(deployment).get("collisionCount")
    if collisions:
        out["collisionCount"] = collisions
    return out


def condition(conditions: list[Obj], type_: str) -> Obj | None:
    for c in conditions:
        if c.get("type") == type_:
            return c
    return None


def set_condition(conditions: list[Obj], type_: str, status_: str, reason: str, message: str,
                  now: dt.datetime) -> list[Obj]:
    """SetDeploymentCondition: a condition with the same status and reason is left as it is
    (message included); lastTransitionTime only moves when the status flips."""
    stamp = rfc3339(now)
    old = condition(conditions, type_)
    new = {"type": type_, "status": status_, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
           "reason": reason, "message": message}
    if old is not None:
        if old.get("status") == status_ and old.get("reason") == reason:
            return conditions
        if old.get("status") == status_:
            new["lastTransitionTime"] = old.get("lastTransitionTime", stamp)
    return [c for c in conditions if c.get("type") != type_] + [new]


def is_complete(deployment: Obj, new_status: Obj) -> bool:
    """DeploymentComplete: every replica updated and available, nothing old left."""
    want = replicas(deployment)
    return (new_status.get("updatedReplicas", 0) == want and new_status.get("replicas", 0) == want
            and new_status.get("availableReplicas", 0) == want
            and new_status.get("observedGeneration", 0) >= (meta(deployment).get("generation") or 1))


def is_progressing(deployment: Obj, new_status: Obj) -> bool:
    old = status(deployment)
    old_old = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
    new_old = new_status.get("replicas", 0) - new_status.get("updatedReplicas", 0)
    return (new_status.get("updatedReplicas", 0) > int(old.get("updatedReplicas") or 0)
            or new_old < old_old
            or new_status.get("readyReplicas", 0) > int(old.get("readyReplicas") or 0)
            or new_status.get("availableReplicas", 0) > int(old.get("availableReplicas") or 0))


NO_DEADLINE = 2**31 - 1  # progressDeadlineSeconds meaning "never" (math.MaxInt32)


def has_deadline(deployment: Obj) -> bool:
    """HasProgressDeadline."""
    seconds = spec(deployment).get("progressDeadlineSeconds")
    return seconds is not None and int(seconds) != NO_DEADLINE


def timed_out(deployment: Obj, conditions: list[Obj], now: dt.datetime) -> bool:
    if not has_deadline(deployment):
        return False
    cond = condition(conditions, PROGRESSING)
    if cond is None:
        return False
    if cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    last = parse_time(cond.get("lastUpdateTime"))
    if last is None:
        return False
    deadline = int(spec(deployment)["progressDeadlineSeconds"])
    return last + dt.timedelta(seconds=deadline) < now


def paused_conditions(deployment: Obj, conditions: list[Obj], now: dt.datetime) -> list[Obj]:
    """checkPausedConditions: Progressing turns Unknown on pause and on resume, unless the
    rollout has already been reported as stuck."""
    if not has_deadline(deployment):
        return conditions
    current = condition(conditions, PROGRESSING)
    if current is not None and current.get("reason") == TIMED_OUT:
        return conditions
    paused_before = current is not None and current.get("reason") == PAUSED
    if spec(deployment).get("paused") and not paused_before:
        return set_condition(conditions, PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now)
    if not spec(deployment).get("paused") and paused_before:
        return set_condition(conditions, PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", now)
    return conditions


def rollout_conditions(deployment: Obj, new_status: Obj, new_rs: Obj | None, now: dt.datetime,
                       estimate_progress: bool = True) -> tuple[list[Obj], float | None]:
    """Available and Progressing conditions, and when to check the progress deadline again
    (seconds) if the rollout is still under way.

    `estimate_progress` is False where Kubernetes only syncs the status (a paused Deployment,
    a scaling event, a Deployment being deleted): Progressing then stays as it was
    (syncDeploymentStatus); otherwise it follows the rollout (syncRolloutStatus).
    """
    conditions = [dict(c) for c in status(deployment).get("conditions") or []]
    min_available = replicas(deployment) - max_unavailable(deployment)
    if new_status.get("availableReplicas", 0) >= min_available:
        conditions = set_condition(conditions, AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE,
                                   MSG_AVAILABLE, now)
    else:
        conditions = set_condition(conditions, AVAILABLE, "False", MINIMUM_REPLICAS_UNAVAILABLE,
                                   MSG_UNAVAILABLE, now)
    conditions = paused_conditions(deployment, conditions, now)
    if not estimate_progress or spec(deployment).get("paused"):
        return conditions, None
    if not has_deadline(deployment):
        return [c for c in conditions if c.get("type") != PROGRESSING], None
    name = meta(deployment).get("name", "")
    subject = f'ReplicaSet "{meta(new_rs).get("name")}"' if new_rs is not None else f'Deployment "{name}"'
    current = condition(conditions, PROGRESSING)
    # A finished rollout stays finished while its pods come and go (a replaced pod is no
    # rollout): progress is only estimated again once there is an old ReplicaSet to replace.
    finished = (new_status.get("replicas", 0) == new_status.get("updatedReplicas", 0)
                and current is not None and current.get("reason") == NEW_RS_AVAILABLE)
    if finished:
        pass
    elif is_complete(deployment, new_status):
        conditions = set_condition(conditions, PROGRESSING, "True", NEW_RS_AVAILABLE,
                                   f"{subject} has successfully progressed.", now)
    elif is_progressing(deployment, new_status):
        # Progress moves lastUpdateTime (the deadline) even with the same reason.
        stamp = rfc3339(now)
        updated = {"type": PROGRESSING, "status": "True", "lastUpdateTime": stamp,
                   "lastTransitionTime": stamp, "reason": RS_UPDATED,
                   "message": f"{subject} is progressing."}
        if current is not None and current.get("status") == "True":
            updated["lastTransitionTime"] = current.get("lastTransitionTime", stamp)
        conditions = [c for c in conditions if c.get("type") != PROGRESSING] + [updated]
    elif timed_out(deployment, conditions, now):
        conditions = set_condition(conditions, PROGRESSING, "False", TIMED_OUT,
                                   f"{subject} has timed out progressing.", now)
    return conditions, _recheck(deployment, new_status, current, now)


def _recheck(deployment: Obj, new_status: Obj, current: Obj | None, now: dt.datetime) -> float | None:
    """requeueStuckDeployment: seconds until the deadline would pass, counted from the
    Progressing condition the Deployment had before this sync."""
    if current is None or is_complete(deployment, new_status) or current.get("reason") == TIMED_OUT:
        return None
    last = parse_time(current.get("lastUpdateTime"))
    if last is None:
        return None
    deadline = int(spec(deployment)["progressDeadlineSeconds"])
    return max(0.5, (last + dt.timedelta(seconds=deadline) - now).total_seconds() + 1)


def status_equal(a: Obj, b: Obj) -> bool:
    """Two statuses that differ only in condition timestamps count as equal."""
    def strip(s: Obj) -> Any:
        plain = {k: v for k, v in s.items() if k != "conditions" and v}
        conds = sorted((c.get("type"), c.get("status"), c.get("reason"), c.get("message"))
                       for c in s.get("conditions") or [])
        return plain, conds
    return bool(strip(a) == strip(b))
