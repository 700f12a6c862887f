"""`kubectl get jobs` and `kubectl get cronjobs` (printers.go printJob, printCronJob, 1.32)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.selectors import selector_to_string
from kubelite.api.tables._base import (
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    container_cells,
    human_duration,
    meta,
    name,
    name_column,
    parse_time,
    since,
    spec,
    status,
)


def _template_columns() -> tuple[Column, ...]:
    return (
        Column("Containers", "string", "Names of each container in the template.", priority=1),
        Column("Images", "string", "Images referenced by each container in the template.", priority=1),
        Column("Selector", "string", "Query over pods that should match the replica count.",
               priority=1),
    )


JOB_COLUMNS = columns(
    name_column(),
    Column("Status", "string", "Status of the job."),
    Column("Completions", "string", "The completion status of the job."),
    Column("Duration", "string", "Time required to complete the job."),
    age_column(),
    *_template_columns(),
)


def _has_condition(obj: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in status(obj).get("conditions") or [])


def job_status(obj: Obj) -> str:
    if _has_condition(obj, "Complete"):
        return "Complete"
    if _has_condition(obj, "Failed"):
        return "Failed"
    if meta(obj).get("deletionTimestamp"):
        return "Terminating"
    if _has_condition(obj, "Suspended"):
        return "Suspended"
    if _has_condition(obj, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_completions(obj: Obj) -> str:
    succeeded = status(obj).get("succeeded") or 0
    completions = spec(obj).get("completions")
    if completions is not None:
        return f"{succeeded}/{completions}"
    parallelism = spec(obj).get("parallelism") or 0
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(obj: Obj, now: dt.datetime) -> str:
    start = parse_time(status(obj).get("startTime"))
    if start is None:
        return ""
    end = parse_time(status(obj).get("completionTime")) or now
    return human_duration(end - start)


def _job_containers(job_spec: Obj) -> list[Obj]:
    containers: list[Obj] = ((job_spec.get("template") or {}).get("spec") or {}).get(
        "containers") or []
    return containers


def job_row(obj: Obj, now: dt.datetime) -> list[Any]:
    names, images = container_cells(_job_containers(spec(obj)))
    return [name(obj), job_status(obj), job_completions(obj), job_duration(obj, now),
            age(obj, now), names, images, selector_to_string(spec(obj).get("selector"))]


CRONJOB_COLUMNS = columns(
    name_column(),
    Column("Schedule", "string", "The schedule for running the job."),
    Column("TimeZone", "string", "The time zone for running the job."),
    Column("Suspend", "boolean", "Whether the job is suspended."),
    Column("Active", "integer", "The number of active jobs."),
    Column("Last Schedule", "date", "When the job was last scheduled."),
    age_column(),
    *_template_columns(),
)


def cronjob_row(obj: Obj, now: dt.datetime) -> list[Any]:
    s = spec(obj)
    job_spec = (s.get("jobTemplate") or {}).get("spec") or {}
    names, images = container_cells(_job_containers(job_spec))
    last = status(obj).get("lastScheduleTime")
    suspend = s.get("suspend")
    return [name(obj), s.get("schedule") or "", s.get("timeZone") or "<none>",
            "<unset>" if suspend is None else ("True" if suspend else "False"),
            len(status(obj).get("active") or []),
            since(last, now) if last else "<none>", age(obj, now), names, images,
            selector_to_string(job_spec.get("selector"))]


JOB = Printer(JOB_COLUMNS, job_row)
CRONJOB = Printer(CRONJOB_COLUMNS, cronjob_row)
