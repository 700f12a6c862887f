"""Jobs and CronJobs on a real node, through the real kubectl: parallel completions, the
backoff limit, an Indexed Job's index, ttlSecondsAfterFinished, a CronJob every minute and
`kubectl create job` (with an image, and --from=cronjob/NAME)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node

pytestmark = [pytest.mark.root, pytest.mark.kubectl]


def job(name: str, script: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                "containers": [{"name": "c", "image": "busybox:latest",
                                "command": ["sh", "-c", script]}]}}}}


TICK = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "*/1 * * * *", "concurrencyPolicy": "Forbid",
                 "jobTemplate": {"spec": job("x", "sleep 600")["spec"]}}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("jobs")) as c:
        # made first, so that its minutes pass while the Job tests run
        c.apply(TICK)
        yield c


def get_json(cluster: NodeCluster, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)
    return obj


def wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.5)


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in obj.get("status", {}).get("conditions") or []}


def job_pods(cluster: NodeCluster, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get_json(
        cluster, "pods", "-l", f"batch.kubernetes.io/job-name={name}")["items"]
    return items


def test_parallel_job_of_five_completions_finishes(cluster: NodeCluster) -> None:
    cluster.apply(job("five", "sleep 1", completions=5, parallelism=2))
    cluster.kubectl("wait", "--for=condition=complete", "job/five", "--timeout=150s", timeout=160)
    got = get_json(cluster, "job", "five")
    assert got["status"]["succeeded"] == 5 and got["status"].get("failed", 0) == 0
    assert got["status"]["completionTime"] and got["status"]["uncountedTerminatedPods"] == {}
    assert conditions(got)["SuccessCriteriaMet"]["status"] == "True"
    pods = job_pods(cluster, "five")
    assert len(pods) == 5  # never more pods than completions: none counted twice
    assert not any(p["metadata"].get("finalizers") for p in pods)
    described = cluster.kubectl("describe", "job", "five").stdout
    assert "5 Succeeded / 0 Failed" in described and "SuccessfulCreate" in described
    row = cluster.kubectl("get", "job", "five").stdout.splitlines()
    assert row[0].split()[:4] == ["NAME", "STATUS", "COMPLETIONS", "DURATION"]
    assert row[1].split()[:3] == ["five", "Complete", "5/5"]


def test_failing_job_stops_at_backoff_limit(cluster: NodeCluster) -> None:
    cluster.apply(job("fails", "exit 3", backoffLimit=1))
    cluster.kubectl("wait", "--for=condition=failed", "job/fails", "--timeout=90s", timeout=100)
    got = get_json(cluster, "job", "fails")
    failed = conditions(got)["Failed"]
    assert failed["reason"] == "BackoffLimitExceeded", failed
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert got["status"]["failed"] == 2 and len(job_pods(cluster, "fails")) == 2
    events = cluster.kubectl("get", "events", "--field-selector",
                             "involvedObject.name=fails").stdout
    assert "BackoffLimitExceeded" in events


def test_indexed_job_pods_see_their_index(cluster: NodeCluster) -> None:
    cluster.apply(job("idx", 'echo "index=$JOB_COMPLETION_INDEX host=$(hostname)"',
                      completions=3, parallelism=3, completionMode="Indexed"))
    cluster.kubectl("wait", "--for=condition=complete", "job/idx", "--timeout=90s", timeout=100)
    assert get_json(cluster, "job", "idx")["status"]["completedIndexes"] == "0-2"
    for pod in job_pods(cluster, "idx"):
        index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        log = cluster.kubectl("logs", pod["metadata"]["name"]).stdout.strip()
        assert log == f"index={index} host=idx-{index}"


def test_ttl_after_finished_deletes_the_job(cluster: NodeCluster) -> None:
    cluster.apply(job("short", "true", ttlSecondsAfterFinished=2))
    cluster.kubectl("wait", "--for=condition=complete", "job/short", "--timeout=60s", timeout=70)
    wait(lambda: "NotFound" in cluster.kubectl("get", "job", "short", check=False).stderr,
         30, "job/short deleted after its TTL")
    wait(lambda: not job_pods(cluster, "short"), 30, "its pods deleted with it")


def test_kubectl_create_job_with_an_image(cluster: NodeCluster) -> None:
    cluster.kubectl("create", "job", "hello", "--image=busybox:latest", "--", "echo", "hi",
                    version="1.27")
    cluster.kubectl("wait", "--for=condition=complete", "job/hello", "--timeout=60s", timeout=70)
    pod = job_pods(cluster, "hello")[0]["metadata"]["name"]
    assert cluster.kubectl("logs", pod).stdout.strip() == "hi"


def test_cronjob_every_minute_creates_jobs_and_forbid_holds_the_next(
        cluster: NodeCluster) -> None:
    got = get_json(cluster, "cronjob", "tick")["spec"]
    assert (got["successfulJobsHistoryLimit"], got["failedJobsHistoryLimit"],
            got["suspend"]) == (3, 1, False)

    def scheduled() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = get_json(cluster, "jobs")["items"]
        return [j for j in items if j["metadata"]["name"].startswith("tick-")]

    wait(lambda: bool(scheduled()), 75, "the CronJob's first Job")
    first = scheduled()[0]
    stamp = first["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    minutes = int(first["metadata"]["name"].removeprefix("tick-"))
    assert stamp.startswith(time.strftime("%Y-%m-%dT%H:%M:00", time.gmtime(minutes * 60)))
    wait(lambda: bool(get_json(cluster, "cronjob", "tick")["status"].get("active")), 10,
         "status.active")
    status = get_json(cluster, "cronjob", "tick")["status"]
    assert [a["name"] for a in status["active"]] == [first["metadata"]["name"]]
    assert status["lastScheduleTime"]
    row = cluster.kubectl("get", "cronjob", "tick", version="1.32").stdout.splitlines()
    assert row[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE",
                              "LAST", "SCHEDULE", "AGE"]
    assert row[1].split()[:5] == ["tick", "*/1", "*", "*", "*"]
    # a Job by hand from the CronJob's template (kubectl reads the CronJob, then creates)
    cluster.kubectl("create", "job", "--from=cronjob/tick", "manual")
    manual = get_json(cluster, "job", "manual")
    assert manual["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert manual["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "sleep 600"
    # the next minute comes while the first Job still runs: Forbid skips it
    wait(lambda: "JobAlreadyActive" in cluster.kubectl(
        "get", "events", "--field-selector", "involvedObject.name=tick").stdout,
        75, "the next run skipped under Forbid")
    assert [j["metadata"]["name"] for j in scheduled()] == [first["metadata"]["name"]]
    cluster.kubectl("delete", "cronjob", "tick", "--wait=false")


def test_kubectl_create_cronjob_gets_kubernetes_defaults(cluster: NodeCluster) -> None:
    cluster.kubectl("create", "cronjob", "hourly", "--image=busybox:latest",
                    "--schedule=@hourly", "--", "true", version="1.32")
    spec = get_json(cluster, "cronjob", "hourly")["spec"]
    assert spec["concurrencyPolicy"] == "Allow" and spec["jobTemplate"]["spec"]["backoffLimit"] == 6
    refused = cluster.kubectl("create", "cronjob", "bad", "--image=busybox:latest",
                              "--schedule=TZ=UTC 0 * * * *", check=False)
    assert refused.returncode != 0
    assert "cannot use TZ or CRON_TZ in schedule, use timeZone field instead" in refused.stderr


@pytest.mark.parametrize("version", ["1.27", "1.32", "1.33"])
def test_kubectl_explain_cronjob_spec(cluster: NodeCluster, version: str) -> None:
    out = cluster.kubectl("explain", "cronjob.spec", version=version).stdout
    assert "schedule" in out and "concurrencyPolicy" in out and "jobTemplate" in out
