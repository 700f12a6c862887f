"""Pure helpers of the Job controller (pkg/controller/job): the pods a Job makes, completed
index sets, pod failure policy matching, backoff and conditions. No client, no clock."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from kubelite.controllers.podutil import meta, owner_reference, parse_time, pod_phase, rfc3339

Obj = dict[str, Any]

API_VERSION = "batch/v1"
KIND = "Job"
# The finalizer that keeps a finished pod until the controller has counted it.
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
INDEX_LABEL = "batch.kubernetes.io/job-completion-index"
INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_ENV = "JOB_COMPLETION_INDEX"
# Exponential backoff of pod re-creation after failures (DefaultJobPodFailureBackOff, MaxJob...).
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 360.0

# Condition reasons and messages, as pkg/controller/job words them.
BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"
BACKOFF_LIMIT_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_EXCEEDED = "DeadlineExceeded"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
POD_FAILURE_POLICY = "PodFailurePolicy"
MAX_FAILED_INDEXES_EXCEEDED = "MaxFailedIndexesExceeded"
MAX_FAILED_INDEXES_MESSAGE = "Job has exceeded the specified maximal number of failed indexes"
FAILED_INDEXES = "FailedIndexes"
FAILED_INDEXES_MESSAGE = "Job has failed indexes"
COMPLETIONS_REACHED = "CompletionsReached"
COMPLETIONS_MESSAGE = "Reached expected number of succeeded pods"
SUCCESS_POLICY = "SuccessPolicy"
JOB_SUSPENDED = "JobSuspended"
JOB_RESUMED = "JobResumed"


def condition(job: Obj, kind: str) -> Obj | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return None


def has_condition(job: Obj, kind: str) -> bool:
    c = condition(job, kind)
    return c is not None and c.get("status") == "True"


def is_finished(job: Obj) -> bool:
    return has_condition(job, "Complete") or has_condition(job, "Failed")


def set_condition(conditions: list[Obj], kind: str, status: str, reason: str, message: str,
                  now: dt.datetime) -> bool:
    """Add or update a condition in place; True when something changed."""
    stamp = rfc3339(now)
    for c in conditions:
        if c.get("type") == kind:
            if c.get("status") == status and c.get("reason") == reason \
                    and c.get("message") == message:
                return False
            if c.get("status") != status:
                c["lastTransitionTime"] = stamp
            c.update(status=status, reason=reason, message=message, lastProbeTime=stamp)
            return True
    conditions.append({"type": kind, "status": status, "reason": reason, "message": message,
                       "lastProbeTime": stamp, "lastTransitionTime": stamp})
    return True


# -- completed index sets ("1,3-5,7") ------------------------------------------------------


def parse_indexes(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def format_indexes(indexes: set[int]) -> str:
    """Sorted intervals, as Kubernetes writes completedIndexes: "0-2,5"."""
    parts: list[str] = []
    run: list[int] = []
    for i in sorted(indexes):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            parts.append(_interval(run))
        run = [i]
    if run:
        parts.append(_interval(run))
    return ",".join(parts)


def _interval(run: list[int]) -> str:
    if len(run) == 1:
        return str(run[0])
    return f"{run[0]}-{run[-1]}"


def pod_index(pod: Obj) -> int | None:
    value = (meta(pod).get("annotations") or {}).get(INDEX_ANNOTATION)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def index_failures(pod: Obj) -> int:
    try:
        return int((meta(pod).get("annotations") or {}).get(INDEX_FAILURE_COUNT) or 0)
    except ValueError:
        return 0


# -- pods -------------------------------------------------------------------------------


def pod_from_template(job: Obj, index: int | None = None, index_failure_count: int = 0) -> Obj:
    """A new pod of the Job, with the tracking finalizer; an Indexed Job's pod carries its
    index in an annotation, a label, JOB_COMPLETION_INDEX and hostname NAME-INDEX."""
    spec = job.get("spec") or {}
    template = copy.deepcopy(spec.get("template") or {})
    tmeta = template.get("metadata") or {}
    name = meta(job)["name"]
    pod_meta: Obj = {
        "generateName": f"{name}-" if index is None else f"{name}-{index}-",
        "namespace": meta(job).get("namespace"),
        "labels": dict(tmeta.get("labels") or {}),
        "annotations": dict(tmeta.get("annotations") or {}),
        "ownerReferences": [owner_reference(job, API_VERSION, KIND)],
        "finalizers": list(tmeta.get("finalizers") or []) + [TRACKING_FINALIZER],
    }
    pod_spec: Obj = template.get("spec") or {}
    if index is not None:
        pod_meta["annotations"][INDEX_ANNOTATION] = str(index)
        pod_meta["labels"][INDEX_LABEL] = str(index)
        if spec.get("backoffLimitPerIndex") is not None:
            pod_meta["annotations"][INDEX_FAILURE_COUNT] = str(index_failure_count)
        pod_spec.setdefault("hostname", f"{name}-{index}")
        env = {"name": INDEX_ENV, "valueFrom": {"fieldRef": {
            "apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX_ANNOTATION}']"}}}
        for field in ("initContainers", "containers"):
            for c in pod_spec.get(field) or []:
                if not any(e.get("name") == INDEX_ENV for e in c.get("env") or []):
                    c["env"] = list(c.get("env") or []) + [env]
    if not pod_meta["annotations"]:
        del pod_meta["annotations"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def has_tracking_finalizer(pod: Obj) -> bool:
    return TRACKING_FINALIZER in (meta(pod).get("finalizers") or [])


def finished_as(pod: Obj, job: Obj) -> str | None:
    """"Succeeded" or "Failed" once a pod counts as finished for its Job, else None. With
    podReplacementPolicy TerminatingOrFailed a terminating pod counts as failed at once."""
    phase = pod_phase(pod)
    if phase in ("Succeeded", "Failed"):
        return phase
    spec = job.get("spec") or {}
    if meta(pod).get("deletionTimestamp") and spec.get("podFailurePolicy") is None \
            and spec.get("podReplacementPolicy", "TerminatingOrFailed") == "TerminatingOrFailed":
        return "Failed"
    return None


# -- pod failure policy -------------------------------------------------------------------


def match_pod_failure_policy(job: Obj, pod: Obj) -> tuple[str, str] | None:
    """The (action, message) of the first podFailurePolicy rule a failed pod matches."""
    policy = (job.get("spec") or {}).get("podFailurePolicy")
    if not policy:
        return None
    status = pod.get("status") or {}
    name = f"{meta(pod).get('namespace')}/{meta(pod).get('name')}"
    for i, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action", "")
        codes = rule.get("onExitCodes")
        if codes:
            for cs in (status.get("initContainerStatuses") or []) + \
                    (status.get("containerStatuses") or []):
                if codes.get("containerName") and cs.get("name") != codes["containerName"]:
                    continue
                code = ((cs.get("state") or {}).get("terminated") or {}).get("exitCode")
                if code is None or code == 0:
                    continue
                inside = code in (codes.get("values") or [])
                if inside == (codes.get("operator") == "In"):
                    return action, (f"Container {cs.get('name')} for pod {name} failed with exit "
                                    f"code {code} matching {action} rule at index {i}")
        for pattern in rule.get("onPodConditions") or []:
            for c in status.get("conditions") or []:
                if c.get("type") == pattern.get("type") \
                        and c.get("status") == pattern.get("status", "True"):
                    return action, (f"Pod {name} has condition {c['type']} matching {action} "
                                    f"rule at index {i}")
    return None


# -- success policy ---------------------------------------------------------------------


def success_policy_met(job: Obj, completed: set[int]) -> int | None:
    """The index of the first successPolicy rule the completed indexes satisfy."""
    policy = (job.get("spec") or {}).get("successPolicy")
    for i, rule in enumerate((policy or {}).get("rules") or []):
        wanted = parse_indexes(rule.get("succeededIndexes")) if rule.get("succeededIndexes") \
            else None
        done = completed & wanted if wanted is not None else completed
        count = rule.get("succeededCount")
        if count is None and wanted is not None:
            if wanted <= completed:
                return i
        elif count is not None and len(done) >= count:
            return i
    return None


# -- backoff ----------------------------------------------------------------------------


def finished_at(pod: Obj) -> dt.datetime | None:
    """When a finished pod's last container ended."""
    times = [((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")
             for cs in (pod.get("status") or {}).get("containerStatuses") or []]
    parsed = [t for t in (parse_time(x) for x in times if x) if t is not None]
    return max(parsed, default=None)


def backoff_from_pods(pods: list[Obj]) -> tuple[int, dt.datetime] | None:
    """The failures in a row and the last one's time, read from the pods' finish times (what a
    restarted controller starts from): failures after the last success."""
    done = [(t, pod_phase(p)) for p in pods
            if pod_phase(p) in ("Succeeded", "Failed") and (t := finished_at(p)) is not None]
    last_success = max((t for t, phase in done if phase == "Succeeded"), default=None)
    failures = sorted(t for t, phase in done
                      if phase == "Failed" and (last_success is None or t > last_success))
    return (len(failures), failures[-1]) if failures else None


def backoff_delay(failures: int) -> float:
    """The wait before re-creating a pod after `failures` failures in a row (10 s doubled
    each time, at most 6 minutes)."""
    if failures <= 0:
        return 0.0
    return float(min(BACKOFF_INITIAL * 2 ** (failures - 1), BACKOFF_MAX))
