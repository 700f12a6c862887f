"""Job controller (pkg/controller/job): runs a Job's pods to completion.

Every pod carries the `batch.kubernetes.io/job-tracking` finalizer. A finished pod is first
written into status.uncountedTerminatedPods (and an Indexed Job's completedIndexes), then its
finalizer is removed, and only then is it moved into the succeeded/failed counters: a pod
without the finalizer has been counted, one listed in uncountedTerminatedPods is being
counted, so no restart of the controller counts a pod twice.

A Job fails when its failures pass backoffLimit (BackoffLimitExceeded), its activeDeadlineSeconds
passes (DeadlineExceeded), a podFailurePolicy FailJob rule matches (PodFailurePolicy) or too
many indexes fail; FailureTarget comes first, Failed once no pod is left running. Success is
SuccessCriteriaMet, then Complete. Failed pods are replaced after an exponential backoff.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import Any

from kubelite.client import ApiError, Conflict, NotFound
from kubelite.controllers import jobutil as ju
from kubelite.controllers.expectations import Expectations
from kubelite.controllers.podutil import (
    Obj,
    controller_ref,
    is_ready,
    key_of,
    meta,
    parse_time,
    restart_count,
    rfc3339,
    uid_of,
    utcnow,
)
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

SUCCESSFUL_CREATE = "SuccessfulCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
FAILED_CREATE = "FailedCreate"
COMPLETED = "Completed"
SUSPENDED = "Suspended"
RESUMED = "Resumed"
# How long a sync waits for the cache to show the controller's own last status write.
WRITE_WAIT = 10.0


def _owner_key(pod: Obj) -> list[str]:
    ref = controller_ref(pod)
    if ref is None or ref.get("kind") != ju.KIND:
        return []
    return [f"{meta(pod).get('namespace', '')}/{ref.get('name')}"]


def _controller_uid(pod: Obj) -> list[str]:
    ref = controller_ref(pod)
    return [str(ref.get("uid"))] if ref else []


class _Tally:
    """What one sync learns from the Job's pods."""

    def __init__(self, job: Obj) -> None:
        status = job.get("status") or {}
        uncounted = status.get("uncountedTerminatedPods") or {}
        self.succeeded_uids: list[str] = list(uncounted.get("succeeded") or [])
        self.failed_uids: list[str] = list(uncounted.get("failed") or [])
        self.completed = ju.parse_indexes(status.get("completedIndexes"))
        self.failed_indexes = ju.parse_indexes(status.get("failedIndexes"))
        self.succeeded = int(status.get("succeeded") or 0)
        self.failed = int(status.get("failed") or 0)
        self.fail_job: tuple[str, str] | None = None
        self.new_failures = 0
        self.new_successes = 0
        self.release: list[Obj] = []

    def uncounted(self) -> Obj:
        return {k: v for k, v in (("succeeded", self.succeeded_uids),
                                  ("failed", self.failed_uids)) if v}


def tally_finished(job: Obj, pods: list[Obj], tally: _Tally) -> bool:
    """Record pods that finished since the last sync in `tally`; True when
    uncountedTerminatedPods grew (it must be written before finalizers go)."""
    spec = job.get("spec") or {}
    indexed = spec.get("completionMode") == "Indexed"
    completions = spec.get("completions")
    per_index = spec.get("backoffLimitPerIndex")
    grew = False
    for pod in pods:
        if not ju.has_tracking_finalizer(pod):
            continue
        outcome = ju.finished_as(pod, job)
        if outcome is None:
            continue
        tally.release.append(pod)
        uid = uid_of(pod)
        if uid in tally.succeeded_uids or uid in tally.failed_uids:
            continue
        ix = ju.pod_index(pod)
        if outcome == "Succeeded":
            if indexed:
                if ix is None or ix in tally.completed or ix >= int(completions or 0):
                    continue
                tally.completed.add(ix)
            tally.succeeded_uids.append(uid)
            tally.new_successes += 1
            grew = True
            continue
        match = ju.match_pod_failure_policy(job, pod)
        action = match[0] if match else "Count"
        if action == "Ignore":
            continue
        if action == "FailJob" and match and tally.fail_job is None:
            tally.fail_job = (ju.POD_FAILURE_POLICY, match[1])
        if indexed and per_index is not None and ix is not None and (
                action == "FailIndex" or ju.index_failures(pod) >= int(per_index)):
            tally.failed_indexes.add(ix)
        tally.failed_uids.append(uid)
        tally.new_failures += 1
        grew = True
    return grew


def failure_reason(job: Obj, tally: _Tally, active: list[Obj], now: dt.datetime) -> tuple[str, str] | None:
    """Why the Job fails now, as (reason, message), or None."""
    spec = job.get("spec") or {}
    target = ju.condition(job, "FailureTarget")
    if target is not None and target.get("status") == "True":
        return str(target.get("reason")), str(target.get("message"))
    if tally.fail_job is not None:
        return tally.fail_job
    limit = int(spec.get("backoffLimit", 6))
    if spec.get("backoffLimitPerIndex") is None:
        if tally.failed + len(tally.failed_uids) > limit:
            return ju.BACKOFF_LIMIT_EXCEEDED, ju.BACKOFF_LIMIT_MESSAGE
        restart_policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
        if restart_policy == "OnFailure":
            restarts = sum(restart_count(p) for p in active)
            if (limit == 0 and restarts > 0) or (limit > 0 and restarts >= limit):
                return ju.BACKOFF_LIMIT_EXCEEDED, ju.BACKOFF_LIMIT_MESSAGE
    max_failed = spec.get("maxFailedIndexes")
    if max_failed is not None and len(tally.failed_indexes) > int(max_failed):
        return ju.MAX_FAILED_INDEXES_EXCEEDED, ju.MAX_FAILED_INDEXES_MESSAGE
    deadline = spec.get("activeDeadlineSeconds")
    start = parse_time((job.get("status") or {}).get("startTime"))
    if deadline is not None and start is not None \
            and now >= start + dt.timedelta(seconds=int(deadline)):
        return ju.DEADLINE_EXCEEDED, ju.DEADLINE_MESSAGE
    return None


def success_reason(job: Obj, tally: _Tally, active: list[Obj]) -> tuple[str, str] | None:
    """Why the Job has succeeded, as (reason, message), or None."""
    crit = ju.condition(job, "SuccessCriteriaMet")
    if crit is not None and crit.get("status") == "True":
        return str(crit.get("reason")), str(crit.get("message"))
    spec = job.get("spec") or {}
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed":
        rule = ju.success_policy_met(job, tally.completed)
        if rule is not None:
            return ju.SUCCESS_POLICY, f"Matched rules at index {rule}"
        if len(tally.completed) >= int(completions or 0):
            return ju.COMPLETIONS_REACHED, ju.COMPLETIONS_MESSAGE
        return None
    succeeded = tally.succeeded + len(tally.succeeded_uids)
    if completions is None:
        if succeeded > 0 and not active:
            return ju.COMPLETIONS_REACHED, ju.COMPLETIONS_MESSAGE
        return None
    if succeeded >= int(completions):
        return ju.COMPLETIONS_REACHED, ju.COMPLETIONS_MESSAGE
    return None


def wanted_indexes(job: Obj, tally: _Tally, active: list[Obj]) -> list[int]:
    """The indexes an Indexed Job should start a pod for now (lowest first)."""
    spec = job.get("spec") or {}
    busy = {ju.pod_index(p) for p in active}
    room = int(spec.get("parallelism", 1)) - len(active)
    todo = [i for i in range(int(spec.get("completions") or 0))
            if i not in tally.completed and i not in tally.failed_indexes and i not in busy]
    return todo[:max(room, 0)]


def wanted_active(job: Obj, tally: _Tally) -> int:
    """How many pods a NonIndexed Job should have running."""
    spec = job.get("spec") or {}
    parallelism = int(spec.get("parallelism", 1))
    succeeded = tally.succeeded + len(tally.succeeded_uids)
    completions = spec.get("completions")
    if completions is None:
        return 0 if succeeded > 0 else parallelism
    return max(0, min(parallelism, int(completions) - succeeded))


class JobController(SharedController):
    """The kube-controller-manager "job" controller."""

    name = "job"
    workers = 4

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)
        self.expectations = Expectations()
        # job uid -> (failures in a row, time of the last one): the pod re-creation backoff
        self.backoff: dict[str, tuple[int, dt.datetime]] = {}
        # job key -> (resourceVersion of our last status write, when): the cache must show
        # that write before the next sync counts anything (or it would count from old status)
        self.written: dict[str, tuple[str, float]] = {}

    def setup(self) -> None:
        self.jobs = self.informer("jobs", raw=True)
        self.pods = self.informer("pods", raw=True, indexers={
            "controller": _controller_uid, "job-owner": _owner_key})
        self.jobs.on_add(lambda o: self.queue.add(key_of(o)))
        self.jobs.on_update(self._job_updated)
        self.jobs.on_delete(lambda o: self.queue.add(key_of(o)))
        self.pods.on_add(self._pod_added)
        self.pods.on_update(lambda old, new: self._pod_changed(new))
        self.pods.on_delete(self._pod_deleted)

    def _job_updated(self, old: Obj, new: Obj) -> None:
        key = key_of(new)
        if self.written.get(key, ("", 0.0))[0] == meta(new).get("resourceVersion"):
            self.written.pop(key, None)
        self.queue.add(key)

    def _cache_behind(self, key: str) -> bool:
        written = self.written.get(key)
        if written is None:
            return False
        if time.monotonic() - written[1] > WRITE_WAIT:
            self.written.pop(key, None)
            return False
        return True

    def _pod_added(self, pod: Obj) -> None:
        for key in _owner_key(pod):
            self.expectations.creation_observed(key)
            self.queue.add(key)

    def _pod_changed(self, pod: Obj) -> None:
        for key in _owner_key(pod):
            self.queue.add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        for key in _owner_key(pod):
            self.expectations.deletion_observed(key, uid_of(pod))
            self.queue.add(key)

    # -- reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        job = self.jobs.get(key)
        strays = [p for p in self.pods.by_index("job-owner", key)
                  if job is None or controller_ref(p).get("uid") != uid_of(job)]  # type: ignore[union-attr]
        # pods of a deleted Job (or of an older Job of the same name) only lose the finalizer
        await self._release([p for p in strays if ju.has_tracking_finalizer(p)
                             and (ju.finished_as(p, {}) or meta(p).get("deletionTimestamp"))])
        if job is None:
            self.expectations.forget(key)
            return None
        pods = self.pods.by_index("controller", uid_of(job))
        if ju.is_finished(job) or meta(job).get("deletionTimestamp"):
            # nothing more to count or start: the pods only lose the finalizer
            await self._release([p for p in pods if ju.has_tracking_finalizer(p)])
            return None
        if not self.expectations.satisfied(key) or self._cache_behind(key):
            return 1.0
        return await self._sync(key, job, pods)

    async def _sync(self, key: str, job: Obj, pods: list[Obj]) -> float | None:
        now = utcnow()
        spec = job.get("spec") or {}
        status: Obj = dict(job.get("status") or {})
        conditions: list[Obj] = [dict(c) for c in status.get("conditions") or []]
        tally = _Tally(job)
        current: Obj = job.get("status") or {}
        if tally_finished(job, pods, tally):
            # 1. remember what is being counted, before the finalizers that guard it go
            current = await self._write_status(key, current, {
                **status, "uncountedTerminatedPods": tally.uncounted(),
                **self._index_fields(job, tally)})
        released = await self._release(tally.release)  # 2.
        by_uid = {uid_of(p): p for p in pods}
        for uids, field in ((tally.succeeded_uids, "succeeded"), (tally.failed_uids, "failed")):
            for uid in list(uids):  # 3. counted for good once the pod holds no finalizer
                pod = by_uid.get(uid)
                if pod is None or uid in released or not ju.has_tracking_finalizer(pod):
                    uids.remove(uid)
                    setattr(tally, field, getattr(tally, field) + 1)
        if uid_of(job) not in self.backoff and (record := ju.backoff_from_pods(pods)):
            self.backoff[uid_of(job)] = record  # after a restart: from the pods themselves
        else:
            self._note_backoff(job, tally, now)

        active = [p for p in pods if not meta(p).get("deletionTimestamp")
                  and ju.finished_as(p, job) is None]
        terminating = [p for p in pods if meta(p).get("deletionTimestamp")
                       and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]
        requeue: float | None = None
        active_count = len(active)
        suspended = bool(spec.get("suspend"))
        failure = failure_reason(job, tally, active, now)
        success = None if failure else success_reason(job, tally, active)
        if suspended and not failure and not success:
            if ju.set_condition(conditions, "Suspended", "True", ju.JOB_SUSPENDED, "Job suspended", now):
                await self._event(job, SUSPENDED, "Job suspended")
            await self._delete_pods(job, key, active)
            active, active_count = [], 0
        else:
            if ju.has_condition(job, "Suspended"):
                ju.set_condition(conditions, "Suspended", "False", ju.JOB_RESUMED, "Job resumed", now)
                status["startTime"] = rfc3339(now)
                await self._event(job, RESUMED, "Job resumed")
            status.setdefault("startTime", rfc3339(now))
        if failure or success:
            kind, reason = ("FailureTarget", failure) if failure else ("SuccessCriteriaMet", success)
            assert reason is not None
            ju.set_condition(conditions, kind, "True", reason[0], reason[1], now)
            await self._delete_pods(job, key, active)
            active, active_count = [], 0
            if not terminating and not tally.succeeded_uids and not tally.failed_uids:
                final = "Failed" if failure else "Complete"
                ju.set_condition(conditions, final, "True", reason[0], reason[1], now)
                if success:
                    status["completionTime"] = rfc3339(now)
                    await self._event(job, COMPLETED, "Job completed")
                else:
                    await self._event(job, reason[0], reason[1], "Warning")
                self.backoff.pop(uid_of(job), None)
        elif not suspended:
            requeue, change = await self._manage(job, key, tally, active, now)
            active_count += change
            deadline = spec.get("activeDeadlineSeconds")
            start = parse_time(status.get("startTime"))
            if deadline is not None and start is not None:
                left = (start + dt.timedelta(seconds=int(deadline)) - now).total_seconds() + 0.05
                requeue = min(requeue or left, left)
        status.update(active=active_count, ready=sum(1 for p in active if is_ready(p)),
                      terminating=len(terminating), succeeded=tally.succeeded, failed=tally.failed,
                      conditions=conditions or None, uncountedTerminatedPods=tally.uncounted(),
                      **self._index_fields(job, tally))
        await self._write_status(key, current, status)
        return requeue

    @staticmethod
    def _index_fields(job: Obj, tally: _Tally) -> Obj:
        spec = job.get("spec") or {}
        fields: Obj = {}
        if spec.get("completionMode") == "Indexed":
            fields["completedIndexes"] = ju.format_indexes(tally.completed) or None
            if spec.get("backoffLimitPerIndex") is not None:
                fields["failedIndexes"] = ju.format_indexes(tally.failed_indexes)
        return fields

    def _note_backoff(self, job: Obj, tally: _Tally, now: dt.datetime) -> None:
        uid = uid_of(job)
        if tally.new_successes:
            self.backoff.pop(uid, None)
        if tally.new_failures:
            count = self.backoff.get(uid, (0, now))[0]
            self.backoff[uid] = (count + tally.new_failures, now)

    async def _manage(self, job: Obj, key: str, tally: _Tally, active: list[Obj],
                      now: dt.datetime) -> tuple[float | None, int]:
        """Create (or delete) pods towards the wanted number; the seconds to wait when the
        failure backoff holds creation back, and the change in active pods."""
        count, last = self.backoff.get(uid_of(job), (0, now))
        wait = (last + dt.timedelta(seconds=ju.backoff_delay(count)) - now).total_seconds()
        spec = job.get("spec") or {}
        if spec.get("completionMode") == "Indexed":
            todo: list[int | None] = list(wanted_indexes(job, tally, active))
        else:
            diff = wanted_active(job, tally) - len(active)
            if diff < 0:
                extra = sorted(active, key=lambda p: meta(p).get("creationTimestamp", ""))[diff:]
                await self._delete_pods(job, key, extra)
                return None, diff
            todo = [None] * diff
        if not todo:
            return None, 0
        if wait > 0:
            return wait, 0
        failures = self._index_failure_counts(job, tally)
        self.expectations.expect_creations(key, len(todo))
        results = await asyncio.gather(*(self._create_pod(job, ix, failures.get(ix, 0) if ix is not None else 0)
                                         for ix in todo), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            self.expectations.creation_failed(key, len(errors))
            await self._event(job, FAILED_CREATE, f"Error creating: {errors[0]}", "Warning")
        return None, len(todo) - len(errors)

    def _index_failure_counts(self, job: Obj, tally: _Tally) -> dict[int, int]:
        """Per index, how many of its pods failed (for backoffLimitPerIndex)."""
        counts: dict[int, int] = {}
        for pod in self.pods.by_index("controller", uid_of(job)):
            ix = ju.pod_index(pod)
            if ix is not None and ju.finished_as(pod, job) == "Failed":
                counts[ix] = max(counts.get(ix, 0), ju.index_failures(pod) + 1)
        return counts

    async def _create_pod(self, job: Obj, index: int | None, failures: int) -> None:
        pod = await self.client.create("pods", ju.pod_from_template(job, index, failures),
                                       meta(job).get("namespace"), raw=True)
        await self._event(job, SUCCESSFUL_CREATE, f"Created pod: {meta(pod).get('name')}")

    async def _delete_pods(self, job: Obj, key: str, pods: list[Obj]) -> None:
        if not pods:
            return
        self.expectations.expect_deletions(key, {uid_of(p) for p in pods})
        for pod in pods:
            m = meta(pod)
            try:
                await self.client.delete("pods", m["name"], m.get("namespace"),
                                         preconditions={"uid": m.get("uid", "")})
            except NotFound:
                self.expectations.deletion_observed(key, uid_of(pod))
                continue
            await self._event(job, SUCCESSFUL_DELETE, f"Deleted pod: {m['name']}")

    async def _release(self, pods: list[Obj]) -> set[str]:
        """Remove the tracking finalizer; the uids released (or already gone)."""
        released = await asyncio.gather(*(self._release_one(p) for p in pods))
        return {uid_of(p) for p, ok in zip(pods, released, strict=True) if ok}

    async def _release_one(self, pod: Obj) -> bool:
        m = meta(pod)
        rest = [f for f in m.get("finalizers") or [] if f != ju.TRACKING_FINALIZER]
        try:
            await self.client.patch("pods", m["name"], m.get("namespace"), {"metadata": {
                "finalizers": rest or None, "resourceVersion": m.get("resourceVersion")}},
                raw=True)
        except NotFound:
            pass
        except Conflict:
            return False  # changed meanwhile: the next sync sees it again
        return True

    async def _write_status(self, key: str, current: Obj, status: Obj) -> Obj:
        """Patch the Job's status from `current` to `status`; the status as written."""
        ns, name = key.split("/", 1)
        patch = {k: v for k, v in status.items() if current.get(k) != v}
        if "uncountedTerminatedPods" in patch:  # a merge patch of {} would delete nothing
            left = patch["uncountedTerminatedPods"]
            patch["uncountedTerminatedPods"] = {"succeeded": left.get("succeeded"),
                                                "failed": left.get("failed")}
        patch.update({k: None for k in current if k not in status})
        if not patch:
            return current
        try:
            job = await self.client.patch("jobs", name, ns, {"status": patch},
                                          subresource="status", raw=True)
        except NotFound:
            return current
        self.written[key] = (str(meta(job).get("resourceVersion")), time.monotonic())
        written: Obj = job.get("status") or {}
        return written

    async def _event(self, job: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        try:
            await self.client.create_event(job, reason, message, type=type_,
                                           component="job-controller", involved_kind=ju.KIND,
                                           raw=True)
        except ApiError as e:
            log.debug("event %s for %s not recorded: %s", reason, key_of(job), e)
