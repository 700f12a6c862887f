"""CronJob and TTL-after-finished controllers: pure helpers, and the controllers against the
in-memory API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.cron import Schedule
from kubelite.controllers import cronjob as cjc
from kubelite.controllers.cronjob import CronJobController
from kubelite.controllers.podutil import rfc3339, utcnow
from kubelite.controllers.ttl_after_finished import TTLAfterFinishedController, time_left
from tests.unit.controllers.test_replicaset import WorkloadClient, wait_until

Obj = dict[str, Any]
NOW = dt.datetime(2025, 3, 1, 12, 0, 30, tzinfo=dt.UTC)


def cronjob(created: dt.datetime, **spec: Any) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "tick", "namespace": "default", "uid": "cj-uid",
                         "creationTimestamp": rfc3339(created)},
            "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Allow", "suspend": False,
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                     "jobTemplate": {"metadata": {"labels": {"app": "tick"}},
                                     "spec": {"template": {"spec": {
                                         "restartPolicy": "Never",
                                         "containers": [{"name": "c", "image": "b"}]}}}},
                     **spec},
            "status": {}}


def finished_job(name: str, kind: str, created: str) -> Obj:
    return {"metadata": {"name": name, "creationTimestamp": created},
            "status": {"conditions": [{"type": kind, "status": "True"}]}}


def test_job_name_is_minutes_since_the_epoch() -> None:
    assert cjc.job_name(cronjob(NOW), NOW.replace(second=0)) == "tick-29013840"


def test_most_recent_schedule_counts_missed_times() -> None:
    cj = cronjob(NOW - dt.timedelta(minutes=5))
    last, missed = cjc.most_recent_schedule(cj, Schedule("*/1 * * * *"), NOW)
    assert last == NOW.replace(second=0) and missed == 5
    cj["spec"]["startingDeadlineSeconds"] = 90
    assert cjc.most_recent_schedule(cj, Schedule("*/1 * * * *"), NOW)[1] == 1  # 12:00 only: 11:59 is the deadline itself
    cj["status"]["lastScheduleTime"] = rfc3339(NOW.replace(second=0))
    assert cjc.most_recent_schedule(cj, Schedule("*/1 * * * *"), NOW) == (None, 0)


def test_job_from_template_has_the_scheduled_time_in_the_cronjobs_zone() -> None:
    cj = cronjob(NOW, timeZone="Asia/Tokyo")
    job = cjc.job_from_template(cj, NOW.replace(second=0))
    assert job["metadata"]["annotations"][cjc.SCHEDULED_TIMESTAMP] == "2025-03-01T21:00:00+09:00"
    assert job["metadata"]["labels"] == {"app": "tick"}
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"


def test_history_keeps_the_newest_within_each_limit() -> None:
    jobs = [finished_job(f"ok-{i}", "Complete", f"2025-01-0{i}T00:00:00Z") for i in range(1, 6)]
    jobs += [finished_job(f"bad-{i}", "Failed", f"2025-01-0{i}T00:00:00Z") for i in range(1, 3)]
    gone = [j["metadata"]["name"] for j in cjc.history_to_delete(jobs, 3, 1)]
    assert gone == ["ok-1", "ok-2", "bad-1"]


async def start(client: WorkloadClient) -> CronJobController:
    controller = CronJobController(client)  # type: ignore[arg-type]
    await controller.start()
    return controller


def jobs_in(client: WorkloadClient) -> list[Obj]:
    return [o for (plural, _, _), o in client.objects.items() if plural == "jobs"]


async def test_a_due_cronjob_creates_one_job_and_lists_it_active() -> None:
    client = WorkloadClient()
    now = utcnow()
    await client.put_direct("cronjobs", cronjob(now - dt.timedelta(minutes=3)))
    controller = await start(client)
    try:
        await wait_until(lambda: bool((client.get_obj("cronjobs", "tick", "default") or {})
                                      .get("status", {}).get("active")))
    finally:
        await controller.stop()
    assert client.count("create", "jobs") == 1  # only the most recent missed time runs
    (job,) = jobs_in(client)
    scheduled = now.replace(second=0, microsecond=0)
    assert job["metadata"]["name"] == cjc.job_name(cronjob(now), scheduled)
    status = (client.get_obj("cronjobs", "tick", "default") or {})["status"]
    assert status["lastScheduleTime"] == rfc3339(scheduled)
    assert status["active"][0]["uid"] == job["metadata"]["uid"]
    assert ("SuccessfulCreate", f"Created job {job['metadata']['name']}") in client.events


async def test_forbid_skips_a_run_while_one_is_active() -> None:
    client = WorkloadClient()
    now = utcnow()
    cj = cronjob(now - dt.timedelta(minutes=3), concurrencyPolicy="Forbid")
    running_job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": "tick-1", "namespace": "default", "ownerReferences": [
            {"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick", "uid": "cj-uid",
             "controller": True}]}, "spec": {}, "status": {}}
    running_job = await client.put_direct("jobs", running_job)
    cj["status"] = {"active": [cjc.job_reference(running_job)],
                    "lastScheduleTime": rfc3339(now - dt.timedelta(minutes=2))}
    await client.put_direct("cronjobs", cj)
    controller = await start(client)
    try:
        await wait_until(lambda: ("JobAlreadyActive", cjc.FORBID_MESSAGE) in client.events)
    finally:
        await controller.stop()
    assert client.count("create", "jobs") == 0


async def test_finished_jobs_beyond_history_are_deleted() -> None:
    client = WorkloadClient()
    cj = cronjob(utcnow(), suspend=True, failedJobsHistoryLimit=0)
    await client.put_direct("cronjobs", cj)
    for name in ("tick-1", "tick-2"):
        await client.put_direct("jobs", {
            "metadata": {"name": name, "namespace": "default",
                         "creationTimestamp": "2025-01-01T00:00:00Z", "ownerReferences": [
                             {"kind": "CronJob", "name": "tick", "uid": "cj-uid",
                              "controller": True}]},
            "status": {"conditions": [{"type": "Failed", "status": "True"}]}})
    controller = await start(client)
    try:
        await wait_until(lambda: not jobs_in(client))
    finally:
        await controller.stop()
    assert ("SuccessfulDelete", "Deleted job tick-1") in client.events


def test_ttl_counts_from_the_finish_condition() -> None:
    finished = {"spec": {"ttlSecondsAfterFinished": 30}, "metadata": {}, "status": {
        "conditions": [{"type": "Complete", "status": "True",
                        "lastTransitionTime": rfc3339(NOW)}]}}
    assert time_left(finished, NOW + dt.timedelta(seconds=10)) == 20
    assert time_left({"spec": {"ttlSecondsAfterFinished": 30}, "status": {}}, NOW) is None


async def test_ttl_controller_deletes_an_expired_job() -> None:
    client = WorkloadClient()
    await client.put_direct("jobs", {
        "metadata": {"name": "old", "namespace": "default"},
        "spec": {"ttlSecondsAfterFinished": 0},
        "status": {"conditions": [{"type": "Failed", "status": "True",
                                   "lastTransitionTime": rfc3339(utcnow())}]}})
    controller = TTLAfterFinishedController(client)  # type: ignore[arg-type]
    await controller.start()
    try:
        await wait_until(lambda: not jobs_in(client))
    finally:
        await controller.stop()
    assert client.count("delete", "jobs", "old") == 1
