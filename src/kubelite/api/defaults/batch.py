"""Defaulting of batch/v1 kinds (pkg/apis/batch/v1/defaults.go, 1.32)."""

from __future__ import annotations

from kubelite.api.defaults.pod import default_pod_spec
from kubelite.api.types import batch_v1

MAX_INT32 = 2**31 - 1


def default_job_spec(spec: batch_v1.JobSpec) -> None:
    if spec.completions is None and spec.parallelism is None:
        spec.completions = 1
        spec.parallelism = 1
    if spec.parallelism is None:
        spec.parallelism = 1
    if spec.backoff_limit is None:
        # with a per-index limit the global one is effectively off
        spec.backoff_limit = MAX_INT32 if spec.backoff_limit_per_index is not None else 6
    if spec.completion_mode is None:
        spec.completion_mode = "NonIndexed"
    if spec.suspend is None:
        spec.suspend = False
    if spec.pod_replacement_policy is None:
        spec.pod_replacement_policy = "Failed" if spec.pod_failure_policy is not None \
            else "TerminatingOrFailed"
    if spec.manual_selector is None:
        spec.manual_selector = False
    for rule in (spec.pod_failure_policy.rules if spec.pod_failure_policy else []):
        if rule.on_pod_conditions:
            for pattern in rule.on_pod_conditions:
                if not pattern.status:
                    pattern.status = "True"
    if spec.template.spec is not None:
        default_pod_spec(spec.template.spec)


def default_job(job: batch_v1.Job) -> None:
    if job.spec is not None:
        default_job_spec(job.spec)


def default_cron_job(cj: batch_v1.CronJob) -> None:
    spec = cj.spec
    if spec is None:
        return
    if spec.concurrency_policy is None:
        spec.concurrency_policy = "Allow"
    if spec.suspend is None:
        spec.suspend = False
    if spec.successful_jobs_history_limit is None:
        spec.successful_jobs_history_limit = 3
    if spec.failed_jobs_history_limit is None:
        spec.failed_jobs_history_limit = 1
    if spec.job_template.spec is not None:
        default_job_spec(spec.job_template.spec)
