"""Jobs and CronJobs: defaults, the selector the API server generates, and validation."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api import registry
from kubelite.api.strategy import strategy_for
from kubelite.api.types import batch_v1
from kubelite.api.validation import batch
from kubelite.api.validation.errors import FieldError

TEMPLATE = {"spec": {"restartPolicy": "Never",
                     "containers": [{"name": "c", "image": "busybox"}]}}


def msgs(errors: list[FieldError]) -> list[str]:
    return [e.message() for e in errors]


def created(kind: str, **spec: Any) -> Any:
    """An object as a create prepares it (defaults, generated selector), uid set."""
    k = next(k for k in registry.KINDS if k.kind == kind)
    obj = msgspec.convert({"metadata": {"name": "pi", "namespace": "default", "uid": "u-1"},
                           "spec": spec}, k.type)
    strategy_for(k).prepare_for_create(obj)
    return obj


def test_job_defaults_as_kubernetes() -> None:
    job = created("Job", template=TEMPLATE)
    out = msgspec.to_builtins(job.spec)
    assert {k: out[k] for k in ("completions", "parallelism", "backoffLimit", "completionMode",
                                "suspend", "podReplacementPolicy", "manualSelector")} == {
        "completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
        "suspend": False, "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": False}
    assert job.metadata.generation == 1


def test_job_gets_a_selector_of_its_uid_and_labels_on_its_template() -> None:
    job = created("Job", template=TEMPLATE)
    assert job.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": "u-1"}
    assert job.spec.template.metadata.labels == {
        "batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u-1", "job-name": "pi"}
    assert batch.validate_job(job) == []


def test_job_refuses_restart_policy_always() -> None:
    job = created("Job", template={"spec": {"containers": [{"name": "c", "image": "b"}]}})
    assert msgs(batch.validate_job(job)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": '
        'supported values: "OnFailure", "Never"']


def test_indexed_job_needs_completions_and_per_index_limit_needs_indexed() -> None:
    job = created("Job", template=TEMPLATE, parallelism=2, completionMode="Indexed")
    assert "spec.completions: Required value: when completion mode is Indexed" in \
        msgs(batch.validate_job(job))
    job = created("Job", template=TEMPLATE, backoffLimitPerIndex=1)
    assert "spec.backoffLimitPerIndex: Forbidden: requires indexed completion mode" in \
        msgs(batch.validate_job(job))


def test_job_template_is_immutable_unless_suspended() -> None:
    old = created("Job", template=TEMPLATE)
    new = msgspec.structs.replace(old, spec=msgspec.structs.replace(old.spec))
    new.spec.template = msgspec.convert({**TEMPLATE, "metadata": {"labels": dict(
        old.spec.template.metadata.labels, extra="1")}}, type(old.spec.template))
    assert "spec.template: Invalid value: \"\": field is immutable" in \
        msgs(batch.validate_job_update(new, old))


def test_cronjob_defaults_history_limits_and_policy() -> None:
    cj = created("CronJob", schedule="@hourly", jobTemplate={"spec": {"template": TEMPLATE}})
    spec = cj.spec
    assert (spec.concurrency_policy, spec.suspend, spec.successful_jobs_history_limit,
            spec.failed_jobs_history_limit) == ("Allow", False, 3, 1)
    assert spec.job_template.spec.backoff_limit == 6
    assert batch.validate_cron_job(cj) == []
    assert isinstance(cj.status, batch_v1.CronJobStatus)


def test_cronjob_refuses_tz_in_schedule_and_unknown_zones() -> None:
    cj = created("CronJob", schedule="TZ=Europe/Berlin 0 9 * * *", timeZone="Mars/Base",
                 jobTemplate={"spec": {"template": TEMPLATE}})
    assert msgs(batch.validate_cron_job(cj)) == [
        'spec.schedule: Invalid value: "TZ=Europe/Berlin 0 9 * * *": cannot use TZ or CRON_TZ '
        'in schedule, use timeZone field instead',
        'spec.timeZone: Invalid value: "Mars/Base": unknown time zone Mars/Base']


def test_cronjob_name_leaves_room_for_the_job_suffix() -> None:
    cj = created("CronJob", schedule="* * * * *", jobTemplate={"spec": {"template": TEMPLATE}})
    cj.metadata.name = "a" * 53
    assert msgs(batch.validate_cron_job(cj)) == [
        f'metadata.name: Invalid value: "{"a" * 53}": must be no more than 52 characters']
