"""Jobs and CronJobs (pkg/apis/batch/validation/validation.go, 1.32)."""

from __future__ import annotations

import zoneinfo

from kubelite.api.cron import ScheduleError, normalize
from kubelite.api.types import batch_v1
from kubelite.api.validation import names
from kubelite.api.validation.apps import selector_matches
from kubelite.api.validation.errors import (
    FieldError,
    child,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
)
from kubelite.api.validation.meta import (
    FIELD_IMMUTABLE,
    validate_enum,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)
from kubelite.api.validation.pod import validate_pod_template

NEGATIVE = "must be greater than or equal to 0"
JOB_RESTART_POLICIES = ("OnFailure", "Never")
COMPLETION_MODES = ("NonIndexed", "Indexed")
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
POD_FAILURE_ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")
REPLACEMENT_POLICIES = ("Failed", "TerminatingOrFailed")
# A CronJob's Jobs are named NAME-<11 digits>, within the 63 characters of a label value.
CRONJOB_NAME_MAX = 52
TZ_IN_SCHEDULE = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"


def _nonnegative(value: int | None, path: str) -> list[FieldError]:
    return [invalid(path, value, NEGATIVE)] if value is not None and value < 0 else []


def _pod_failure_policy(policy: batch_v1.PodFailurePolicy | None, spec: batch_v1.JobSpec,
                        path: str) -> list[FieldError]:
    if policy is None:
        return []
    errs: list[FieldError] = []
    restart = spec.template.spec.restart_policy if spec.template.spec else None
    if restart != "Never":
        errs.append(invalid(child("spec", "template", "spec", "restartPolicy"), restart or "",
                            "only \"Never\" is supported when podFailurePolicy is specified"))
    for i, rule in enumerate(policy.rules):
        rpath = index(child(path, "rules"), i)
        if rule.action not in POD_FAILURE_ACTIONS:
            errs.append(not_supported(child(rpath, "action"), rule.action, POD_FAILURE_ACTIONS))
        if rule.action == "FailIndex" and spec.backoff_limit_per_index is None:
            errs.append(forbidden(child(rpath, "action"),
                                  "requires the backoffLimitPerIndex to be set"))
        if (rule.on_exit_codes is None) == (rule.on_pod_conditions is None):
            errs.append(invalid(rpath, "", "specifying one of OnExitCodes and OnPodConditions "
                                           "is required"))
        codes = rule.on_exit_codes
        if codes is not None:
            if codes.operator not in ("In", "NotIn"):
                errs.append(not_supported(child(rpath, "onExitCodes", "operator"),
                                          codes.operator, ["In", "NotIn"]))
            if not codes.values:
                errs.append(invalid(child(rpath, "onExitCodes", "values"), codes.values,
                                    "at least one value is required"))
            if codes.operator == "In" and 0 in codes.values:
                errs.append(invalid(child(rpath, "onExitCodes", "values"), 0,
                                    "must not be 0 for the In operator"))
    return errs


def validate_job_spec(spec: batch_v1.JobSpec | None, path: str,
                      check_selector: bool = True) -> list[FieldError]:
    if spec is None:
        return [required(path)]
    errs = _nonnegative(spec.parallelism, child(path, "parallelism"))
    errs += _nonnegative(spec.completions, child(path, "completions"))
    errs += _nonnegative(spec.backoff_limit, child(path, "backoffLimit"))
    errs += _nonnegative(spec.ttl_seconds_after_finished, child(path, "ttlSecondsAfterFinished"))
    if spec.active_deadline_seconds is not None and spec.active_deadline_seconds <= 0:
        errs.append(invalid(child(path, "activeDeadlineSeconds"), spec.active_deadline_seconds,
                            "must be greater than 0"))
    mode = spec.completion_mode
    if mode is not None:
        errs += validate_enum(mode, child(path, "completionMode"), COMPLETION_MODES)
    if mode == "Indexed" and spec.completions is None:
        errs.append(required(child(path, "completions"),
                             "when completion mode is Indexed"))
    if spec.backoff_limit_per_index is not None:
        errs += _nonnegative(spec.backoff_limit_per_index, child(path, "backoffLimitPerIndex"))
        if mode != "Indexed":
            errs.append(forbidden(child(path, "backoffLimitPerIndex"),
                                  "requires indexed completion mode"))
    if spec.max_failed_indexes is not None and spec.backoff_limit_per_index is None:
        errs.append(required(child(path, "backoffLimitPerIndex"),
                             "when maxFailedIndexes is specified"))
    if spec.pod_replacement_policy is not None:
        errs += validate_enum(spec.pod_replacement_policy,
                              child(path, "podReplacementPolicy"), REPLACEMENT_POLICIES)
    if spec.success_policy is not None and mode != "Indexed":
        errs.append(invalid(child(path, "successPolicy"), "",
                            "requires indexed completion mode"))
    errs += _pod_failure_policy(spec.pod_failure_policy, spec, child(path, "podFailurePolicy"))
    if check_selector:
        sel_path = child(path, "selector")
        if spec.selector is None:
            errs.append(required(sel_path))
        else:
            errs += validate_label_selector(spec.selector, sel_path)
            labels = (spec.template.metadata.labels if spec.template.metadata else None) or {}
            if not selector_matches(spec.selector, labels):
                errs.append(invalid(child(path, "template", "metadata", "labels"), labels,
                                    "`selector` does not match template `labels`"))
    errs += validate_pod_template(spec.template, child(path, "template"),
                                  JOB_RESTART_POLICIES, owner="Job")
    return errs


def validate_job(job: batch_v1.Job) -> list[FieldError]:
    errs = validate_object_meta(job.metadata, True, names.name_is_dns_subdomain)
    return errs + validate_job_spec(job.spec, "spec")


def validate_job_update(new: batch_v1.Job, old: batch_v1.Job) -> list[FieldError]:
    """ValidateJobUpdate: the selector, completion mode and pod failure policy never change;
    the template only while the Job is suspended."""
    errs = validate_job(new)
    ns, os_ = new.spec, old.spec
    if ns is None or os_ is None:
        return errs
    for field, attr in (("selector", "selector"), ("completionMode", "completion_mode"),
                        ("podFailurePolicy", "pod_failure_policy"),
                        ("backoffLimitPerIndex", "backoff_limit_per_index")):
        if getattr(ns, attr) != getattr(os_, attr):
            errs.append(invalid(child("spec", field), getattr(ns, attr), FIELD_IMMUTABLE))
    if ns.template != os_.template and not (os_.suspend and ns.suspend):
        errs.append(invalid(child("spec", "template"), "", FIELD_IMMUTABLE))
    if ns.completions != os_.completions and not (
            ns.completion_mode == "Indexed" and ns.completions == ns.parallelism):
        errs.append(invalid(child("spec", "completions"), ns.completions, FIELD_IMMUTABLE))
    return errs


def validate_job_status_update(new: batch_v1.Job, old: batch_v1.Job) -> list[FieldError]:
    errs = validate_object_meta_update(new.metadata, old.metadata)
    status = new.status or batch_v1.JobStatus()
    for field in ("active", "succeeded", "failed", "ready", "terminating"):
        errs += _nonnegative(getattr(status, field), child("status", field))
    return errs


def validate_schedule(schedule: str, path: str) -> list[FieldError]:
    if schedule.lstrip().startswith(("TZ=", "CRON_TZ=")):
        return [invalid(path, schedule, TZ_IN_SCHEDULE)]
    try:
        normalize(schedule)
    except ScheduleError as e:
        return [invalid(path, schedule, str(e))]
    return []


def validate_time_zone(tz: str | None, path: str) -> list[FieldError]:
    if tz is None:
        return []
    if not tz or tz.lower() == "local":
        return [invalid(path, tz, "unknown time zone " + tz)]
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [invalid(path, tz, "unknown time zone " + tz)]
    return []


def validate_cron_job(cj: batch_v1.CronJob) -> list[FieldError]:
    errs = validate_object_meta(cj.metadata, True, names.name_is_dns_subdomain)
    name = cj.metadata.name if cj.metadata else None
    if name and len(name) > CRONJOB_NAME_MAX:
        errs.append(invalid(child("metadata", "name"), name,
                            f"must be no more than {CRONJOB_NAME_MAX} characters"))
    spec = cj.spec
    if spec is None:
        return errs + [required("spec")]
    if not spec.schedule:
        errs.append(required(child("spec", "schedule")))
    else:
        errs += validate_schedule(spec.schedule, child("spec", "schedule"))
    errs += validate_time_zone(spec.time_zone, child("spec", "timeZone"))
    errs += _nonnegative(spec.starting_deadline_seconds, child("spec", "startingDeadlineSeconds"))
    errs += validate_enum(spec.concurrency_policy, child("spec", "concurrencyPolicy"),
                          CONCURRENCY_POLICIES)
    errs += _nonnegative(spec.successful_jobs_history_limit,
                         child("spec", "successfulJobsHistoryLimit"))
    errs += _nonnegative(spec.failed_jobs_history_limit, child("spec", "failedJobsHistoryLimit"))
    errs += validate_job_spec(spec.job_template.spec, child("spec", "jobTemplate", "spec"),
                              check_selector=False)
    return errs


def validate_cron_job_update(new: batch_v1.CronJob, old: batch_v1.CronJob) -> list[FieldError]:
    return validate_cron_job(new)


def validate_cron_job_status_update(new: batch_v1.CronJob,
                                    old: batch_v1.CronJob) -> list[FieldError]:
    return validate_object_meta_update(new.metadata, old.metadata)
