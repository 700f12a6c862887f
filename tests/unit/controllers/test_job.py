"""Job controller: pure helpers, and the controller against the in-memory API."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.controllers import jobutil as ju
from kubelite.controllers.job import JobController
from tests.unit.controllers.test_replicaset import WorkloadClient, pods_in, wait_until

Obj = dict[str, Any]


def job(**spec: Any) -> Obj:
    base = {"parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "suspend": False, "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "job-uid"}},
            "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "job-uid",
                                                 "batch.kubernetes.io/job-name": "pi"}},
                         "spec": {"restartPolicy": "Never",
                                  "containers": [{"name": "c", "image": "busybox"}]}}}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default", "uid": "job-uid"},
            "spec": {**base, **spec}, "status": {}}


def test_index_sets_round_trip_as_intervals() -> None:
    assert ju.format_indexes({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    assert ju.parse_indexes("0-2,5,7-8") == {0, 1, 2, 5, 7, 8}
    assert ju.parse_indexes("") == set()


def test_backoff_doubles_from_ten_seconds_up_to_six_minutes() -> None:
    assert [ju.backoff_delay(n) for n in (0, 1, 2, 3)] == [0.0, 10.0, 20.0, 40.0]
    assert ju.backoff_delay(20) == 360.0


def test_indexed_pod_carries_its_index_everywhere() -> None:
    pod = ju.pod_from_template(job(completionMode="Indexed", completions=3), 2)
    m = pod["metadata"]
    assert m["generateName"] == "pi-2-"
    assert m["annotations"][ju.INDEX_ANNOTATION] == "2" and m["labels"][ju.INDEX_LABEL] == "2"
    assert m["finalizers"] == [ju.TRACKING_FINALIZER]
    assert pod["spec"]["hostname"] == "pi-2"
    env = pod["spec"]["containers"][0]["env"][0]
    assert env["name"] == "JOB_COMPLETION_INDEX"
    assert env["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"


def test_pod_failure_policy_matches_exit_codes_and_conditions() -> None:
    j = job(podFailurePolicy={"rules": [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}}]})
    failed: Obj = {"metadata": {"name": "p", "namespace": "default"}, "status": {
        "phase": "Failed", "containerStatuses": [
            {"name": "c", "state": {"terminated": {"exitCode": 42}}}]}}
    action, message = ju.match_pod_failure_policy(j, failed) or ("", "")
    assert action == "FailJob"
    assert message == ("Container c for pod default/p failed with exit code 42 matching "
                       "FailJob rule at index 1")
    failed["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] = 1
    assert ju.match_pod_failure_policy(j, failed) is None
    failed["status"]["conditions"] = [{"type": "DisruptionTarget", "status": "True"}]
    assert (ju.match_pod_failure_policy(j, failed) or ("",))[0] == "Ignore"


def test_success_policy_rules() -> None:
    j = job(completionMode="Indexed", completions=5, successPolicy={"rules": [
        {"succeededIndexes": "0-1"}, {"succeededCount": 3}]})
    assert ju.success_policy_met(j, {0}) is None
    assert ju.success_policy_met(j, {0, 1}) == 0
    assert ju.success_policy_met(j, {2, 3, 4}) == 1


@pytest.fixture
async def running() -> AsyncIterator[tuple[WorkloadClient, JobController]]:
    client = WorkloadClient()
    controller = JobController(client)  # type: ignore[arg-type]
    await controller.start()
    try:
        yield client, controller
    finally:
        await controller.stop()


async def finish(client: WorkloadClient, pod: Obj, phase: str, exit_code: int = 0) -> None:
    pod = copy.deepcopy(pod)
    pod["status"] = {"phase": phase, "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": exit_code}}}]}
    await client.put_direct("pods", pod)


def stored_job(client: WorkloadClient) -> Obj:
    got = client.get_obj("jobs", "pi", "default")
    assert got is not None
    return got


def conditions(j: Obj) -> dict[str, Obj]:
    return {c["type"]: c for c in j["status"].get("conditions") or []}


async def test_completions_with_parallelism_run_to_complete(
        running: tuple[WorkloadClient, JobController]) -> None:
    client, _ = running
    client.delay = 0.01
    await client.put_direct("jobs", job(completions=3, parallelism=2))
    await wait_until(lambda: len(pods_in(client)) == 2)
    await asyncio.sleep(0.1)
    assert client.count("create", "pods") == 2  # parallelism, despite the slow API
    for _ in range(3):
        await wait_until(lambda: any(not p.get("status") for p in pods_in(client)))
        running_pods = [p for p in pods_in(client) if not p.get("status")]
        await finish(client, running_pods[0], "Succeeded")
    await wait_until(lambda: "Complete" in conditions(stored_job(client)))
    status = stored_job(client)["status"]
    assert status["succeeded"] == 3 and status["active"] == 0
    assert status["uncountedTerminatedPods"] == {} and status["completionTime"]
    assert conditions(stored_job(client))["Complete"]["reason"] == "CompletionsReached"
    assert client.count("create", "pods") == 3
    assert not any(p["metadata"].get("finalizers") for p in pods_in(client))
    assert ("Completed", "Job completed") in client.events


async def test_a_restart_between_recording_and_counting_counts_once() -> None:
    """Pod a finished and was written to uncountedTerminatedPods but kept its finalizer (the
    controller died there); pod b was counted already. A new controller counts a only."""
    client = WorkloadClient()
    j = job(completions=2, parallelism=2)
    pods = []
    for name in ("a", "b"):
        pod = ju.pod_from_template(j)
        pod["metadata"]["name"] = f"pi-{name}"
        pod["status"] = {"phase": "Succeeded"}
        pods.append(await client.put_direct("pods", pod))
    await client.patch("pods", "pi-b", "default", {"metadata": {"finalizers": None}})
    j["status"] = {"succeeded": 1, "uncountedTerminatedPods": {
        "succeeded": [pods[0]["metadata"]["uid"]]}}
    await client.put_direct("jobs", j)
    controller = JobController(client)  # type: ignore[arg-type]
    await controller.start()
    try:
        await wait_until(lambda: "Complete" in conditions(stored_job(client)))
    finally:
        await controller.stop()
    assert stored_job(client)["status"]["succeeded"] == 2
    assert client.count("create", "pods") == 0


async def test_failures_past_the_backoff_limit_fail_the_job(
        running: tuple[WorkloadClient, JobController]) -> None:
    client, controller = running
    await client.put_direct("jobs", job(backoffLimit=0))
    await wait_until(lambda: len(pods_in(client)) == 1)
    await finish(client, pods_in(client)[0], "Failed", exit_code=1)
    await wait_until(lambda: "Failed" in conditions(stored_job(client)))
    conds = conditions(stored_job(client))
    assert conds["FailureTarget"]["reason"] == conds["Failed"]["reason"] == "BackoffLimitExceeded"
    assert stored_job(client)["status"]["failed"] == 1
    assert "completionTime" not in stored_job(client)["status"]
    assert client.count("create", "pods") == 1


async def test_failed_pod_is_replaced_after_the_backoff() -> None:
    client = WorkloadClient()
    controller = JobController(client)  # type: ignore[arg-type]
    await controller.start()
    try:
        await client.put_direct("jobs", job(backoffLimit=3))
        await wait_until(lambda: len(pods_in(client)) == 1)
        await finish(client, pods_in(client)[0], "Failed", exit_code=1)
        await wait_until(lambda: stored_job(client)["status"].get("failed") == 1)
        await asyncio.sleep(0.3)
        assert client.count("create", "pods") == 1  # held back: 10 s after the first failure
        uid, (count, _) = next(iter(controller.backoff.items()))
        assert count == 1
    finally:
        await controller.stop()


async def test_indexed_job_starts_the_lowest_missing_indexes(
        running: tuple[WorkloadClient, JobController]) -> None:
    client, _ = running
    await client.put_direct("jobs", job(completionMode="Indexed", completions=3, parallelism=2))
    await wait_until(lambda: len(pods_in(client)) == 2)
    assert sorted(ju.pod_index(p) or 0 for p in pods_in(client)) == [0, 1]
    zero = next(p for p in pods_in(client) if ju.pod_index(p) == 0)
    await finish(client, zero, "Succeeded")
    await wait_until(lambda: len(pods_in(client)) == 3)
    assert sorted(ju.pod_index(p) or 0 for p in pods_in(client)) == [0, 1, 2]
    await wait_until(lambda: stored_job(client)["status"].get("completedIndexes") == "0")


async def test_suspended_job_deletes_its_pods_and_says_so(
        running: tuple[WorkloadClient, JobController]) -> None:
    client, _ = running
    await client.put_direct("jobs", job(parallelism=2, completions=4))
    await wait_until(lambda: len(pods_in(client)) == 2)
    suspended = copy.deepcopy(stored_job(client))
    suspended["spec"]["suspend"] = True
    await client.put_direct("jobs", suspended)
    await wait_until(lambda: "Suspended" in conditions(stored_job(client)))
    await wait_until(lambda: not pods_in(client))
    cond = conditions(stored_job(client))["Suspended"]
    assert (cond["status"], cond["reason"], cond["message"]) == ("True", "JobSuspended",
                                                                "Job suspended")


def test_backoff_after_a_restart_is_read_from_the_pods_finish_times() -> None:
    def done(phase: str, at: str) -> Obj:
        return {"status": {"phase": phase, "containerStatuses": [
            {"state": {"terminated": {"finishedAt": at}}}]}}
    pods = [done("Failed", "2025-01-01T10:00:00Z"), done("Succeeded", "2025-01-01T10:01:00Z"),
            done("Failed", "2025-01-01T10:02:00Z"), done("Failed", "2025-01-01T10:03:00Z")]
    count, last = ju.backoff_from_pods(pods) or (0, None)
    assert count == 2 and last is not None and last.minute == 3
    assert ju.backoff_from_pods(pods[:2]) is None
