"""CronJob controller (pkg/controller/cronjob, cronjob_controllerv2.go): makes a Job at each
scheduled time, named NAME-<scheduled time in minutes since the epoch> (so a time is never
run twice), honouring concurrencyPolicy, startingDeadlineSeconds and suspend, keeping
status.active and the successful/failed history limits."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import zoneinfo
from typing import Any

from kubelite.api.cron import Schedule, ScheduleError
from kubelite.client import AlreadyExists, ApiError, NotFound
from kubelite.controllers.jobutil import condition, is_finished
from kubelite.controllers.podutil import (
    Obj,
    controller_ref,
    key_of,
    meta,
    owner_reference,
    parse_time,
    rfc3339,
    uid_of,
    utcnow,
)
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

API_VERSION = "batch/v1"
KIND = "CronJob"
SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MAX_MISSED = 100
# Event reasons and messages, as cronjob_controllerv2.go words them.
SUCCESSFUL_CREATE = "SuccessfulCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
SAW_COMPLETED_JOB = "SawCompletedJob"
JOB_ALREADY_ACTIVE = "JobAlreadyActive"
MISS_SCHEDULE = "MissSchedule"
TOO_MANY_MISSED = "TooManyMissedTimes"
TOO_MANY_MISSED_MESSAGE = ("too many missed start times. Set or decrease "
                           ".spec.startingDeadlineSeconds or check clock skew")
UNPARSEABLE_SCHEDULE = "UnparseableSchedule"
FORBID_MESSAGE = ("Not starting job because prior execution is running and concurrency "
                  "policy is Forbid")


def job_name(cronjob: Obj, scheduled: dt.datetime) -> str:
    return f"{meta(cronjob)['name']}-{int(scheduled.timestamp()) // 60}"


def zone_of(cronjob: Obj) -> dt.tzinfo:
    tz = (cronjob.get("spec") or {}).get("timeZone")
    if not tz:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def most_recent_schedule(cronjob: Obj, schedule: Schedule, now: dt.datetime
                         ) -> tuple[dt.datetime | None, int]:
    """The latest scheduled time not yet run (after lastScheduleTime, or creation, and within
    startingDeadlineSeconds), and how many times were missed since."""
    spec = cronjob.get("spec") or {}
    status = cronjob.get("status") or {}
    earliest = parse_time(status.get("lastScheduleTime")) or \
        parse_time(meta(cronjob).get("creationTimestamp")) or now
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - dt.timedelta(seconds=int(deadline)))
    zone = zone_of(cronjob)
    t = earliest.astimezone(zone)
    missed, last = 0, None
    while missed <= MAX_MISSED:
        t = schedule.next(t)
        if t > now:
            break
        last, missed = t, missed + 1
    if missed > MAX_MISSED:
        last = schedule.prev_or_equal(now.astimezone(zone))
    return last, missed


def job_from_template(cronjob: Obj, scheduled: dt.datetime) -> Obj:
    """getJobFromTemplate2: the template's labels, annotations and spec, a controller
    reference and the scheduled time (in the CronJob's zone) as an annotation."""
    template = copy.deepcopy((cronjob.get("spec") or {}).get("jobTemplate") or {})
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP] = scheduled.astimezone(zone_of(cronjob)).isoformat()
    job_meta: Obj = {"name": job_name(cronjob, scheduled),
                     "namespace": meta(cronjob).get("namespace"),
                     "labels": dict(tmeta.get("labels") or {}), "annotations": annotations,
                     "ownerReferences": [owner_reference(cronjob, API_VERSION, KIND)]}
    if not job_meta["labels"]:
        del job_meta["labels"]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta,
            "spec": template.get("spec") or {}}


def job_reference(job: Obj) -> Obj:
    m = meta(job)
    return {"apiVersion": "batch/v1", "kind": "Job", "name": m["name"],
            "namespace": m.get("namespace"), "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion")}


def history_to_delete(jobs: list[Obj], successful_limit: int, failed_limit: int) -> list[Obj]:
    """Finished Jobs beyond the history limits, oldest first."""
    out: list[Obj] = []
    for kind, limit in (("Complete", successful_limit), ("Failed", failed_limit)):
        done = [j for j in jobs if (condition(j, kind) or {}).get("status") == "True"]
        done.sort(key=lambda j: (meta(j).get("creationTimestamp") or "", meta(j)["name"]))
        out += done[:max(len(done) - limit, 0)]
    return out


def _controller_uid(obj: Obj) -> list[str]:
    ref = controller_ref(obj)
    return [str(ref.get("uid"))] if ref else []


class CronJobController(SharedController):
    """The kube-controller-manager "cronjob" controller."""

    name = "cronjob"
    workers = 2

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)
        # cronjob uid -> the last time it ran: the cache may not show the status write yet
        self.ran: dict[str, dt.datetime] = {}

    def setup(self) -> None:
        self.cronjobs = self.informer("cronjobs", raw=True, indexers={"uid": lambda o: [uid_of(o)]})
        self.jobs = self.informer("jobs", raw=True, indexers={"controller": _controller_uid})
        self.cronjobs.on_add(lambda o: self.queue.add(key_of(o)))
        self.cronjobs.on_update(lambda old, new: self.queue.add(key_of(new)))
        self.cronjobs.on_delete(lambda o: self.ran.pop(uid_of(o), None))
        self.jobs.on_add(self._job_changed)
        self.jobs.on_update(lambda old, new: self._job_changed(new))
        self.jobs.on_delete(self._job_changed)

    def _job_changed(self, job: Obj) -> None:
        ref = controller_ref(job)
        if ref is None or ref.get("kind") != KIND:
            return
        for cj in self.cronjobs.by_index("uid", str(ref.get("uid"))):
            self.queue.add(key_of(cj))

    async def reconcile(self, key: str) -> float | None:
        cj = self.cronjobs.get(key)
        if cj is None or meta(cj).get("deletionTimestamp"):
            return None
        now = utcnow()
        jobs = self.jobs.by_index("controller", uid_of(cj))
        status: Obj = copy.deepcopy(cj.get("status") or {})
        await self._track_active(cj, jobs, status)
        spec = cj.get("spec") or {}
        try:
            schedule = Schedule(spec.get("schedule") or "")
        except ScheduleError as e:
            await self._event(cj, UNPARSEABLE_SCHEDULE, f"unparseable schedule: {e}", "Warning")
            await self._write_status(key, cj, status)
            return None
        requeue = None
        if not spec.get("suspend"):
            requeue = await self._run_schedule(cj, schedule, status, now)
        await self._write_status(key, cj, status)
        survivors = [j for j in jobs if j not in history_to_delete(
            jobs, int(spec.get("successfulJobsHistoryLimit", 3)),
            int(spec.get("failedJobsHistoryLimit", 1)))]
        for job in jobs:
            if job not in survivors:
                await self._delete_job(cj, job)
        return requeue

    async def _track_active(self, cj: Obj, jobs: list[Obj], status: Obj) -> None:
        """status.active lists the unfinished Jobs; finished ones leave it (SawCompletedJob)."""
        by_uid = {uid_of(j): j for j in jobs}
        active: list[Obj] = []
        for ref in status.get("active") or []:
            job = by_uid.get(str(ref.get("uid")))
            if job is None:
                continue
            if is_finished(job):
                kind = "Complete" if (condition(job, "Complete") or {}).get("status") == "True" \
                    else "Failed"
                await self._event(cj, SAW_COMPLETED_JOB,
                                  f"Saw completed job: {meta(job)['name']}, condition: {kind}")
                continue
            active.append(ref)
        known = {str(r.get("uid")) for r in active}
        active += [job_reference(j) for j in jobs
                   if not is_finished(j) and uid_of(j) not in known
                   and not meta(j).get("deletionTimestamp")]
        status["active"] = active or None
        done = [parse_time((j.get("status") or {}).get("completionTime")) for j in jobs
                if (condition(j, "Complete") or {}).get("status") == "True"]
        latest = max((t for t in done if t is not None), default=None)
        last = parse_time(status.get("lastSuccessfulTime"))
        if latest is not None and (last is None or latest > last):
            status["lastSuccessfulTime"] = rfc3339(latest)

    async def _run_schedule(self, cj: Obj, schedule: Schedule, status: Obj,
                            now: dt.datetime) -> float:
        spec = cj.get("spec") or {}
        next_run = schedule.next(now.astimezone(zone_of(cj)))
        requeue = (next_run - now).total_seconds() + 0.1
        seen = dict(status)
        ran = self.ran.get(uid_of(cj))
        last = parse_time(status.get("lastScheduleTime"))
        if ran is not None and (last is None or ran > last):
            seen["lastScheduleTime"] = rfc3339(ran)
        scheduled, missed = most_recent_schedule({**cj, "status": seen}, schedule, now)
        if scheduled is None:
            return requeue
        if missed > MAX_MISSED:
            await self._event(cj, TOO_MANY_MISSED, TOO_MANY_MISSED_MESSAGE, "Warning")
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + dt.timedelta(seconds=int(deadline)) < now:
            await self._event(cj, MISS_SCHEDULE, "Missed scheduled time to start a job: "
                              f"{scheduled.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
                              "Warning")
            return requeue
        policy = spec.get("concurrencyPolicy", "Allow")
        if status.get("active") and policy == "Forbid":
            await self._event(cj, JOB_ALREADY_ACTIVE, FORBID_MESSAGE)
            return requeue
        if status.get("active") and policy == "Replace":
            for ref in list(status["active"]):
                job = self.jobs.get(f"{ref.get('namespace')}/{ref.get('name')}")
                if job is not None:
                    await self._delete_job(cj, job)
            status["active"] = None
        job = job_from_template(cj, scheduled)
        try:
            created = await self.client.create("jobs", job, meta(cj).get("namespace"), raw=True)
        except AlreadyExists:
            # this time was run already (the status write of that run was lost)
            existing = self.jobs.get(f"{meta(cj).get('namespace')}/{meta(job)['name']}")
            if existing is None or (controller_ref(existing) or {}).get("uid") != uid_of(cj):
                return requeue
            created = existing
        else:
            await self._event(cj, SUCCESSFUL_CREATE, f"Created job {meta(created)['name']}")
        refs = list(status.get("active") or [])
        if not any(r.get("uid") == uid_of(created) for r in refs) and not is_finished(created):
            refs.append(job_reference(created))
        status["active"] = refs or None
        status["lastScheduleTime"] = rfc3339(scheduled.astimezone(dt.UTC))
        self.ran[uid_of(cj)] = scheduled
        return requeue

    async def _delete_job(self, cj: Obj, job: Obj) -> None:
        m = meta(job)
        try:
            await self.client.delete("jobs", m["name"], m.get("namespace"),
                                     propagation_policy="Background",
                                     preconditions={"uid": m.get("uid", "")})
        except NotFound:
            return
        await self._event(cj, SUCCESSFUL_DELETE, f"Deleted job {m['name']}")

    async def _write_status(self, key: str, cj: Obj, status: Obj) -> None:
        current = cj.get("status") or {}
        patch = {k: v for k, v in status.items() if current.get(k) != v}
        if not patch:
            return
        ns, name = key.split("/", 1)
        try:
            await self.client.patch("cronjobs", name, ns, {"status": patch},
                                    subresource="status", raw=True)
        except NotFound:
            pass

    async def _event(self, cj: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        try:
            await self.client.create_event(cj, reason, message, type=type_,
                                           component="cronjob-controller", involved_kind=KIND,
                                           raw=True)
        except ApiError as e:
            log.debug("event %s for %s not recorded: %s", reason, key_of(cj), e)
