"""`kubectl get pods` cells: Ready, Status and Restarts as Kubernetes computes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kubelite.api.registry import Kind, by_kind
from kubelite.api.tables import column_definitions, row_cells


def must_kind(group: str, name: str) -> Kind:
    kind = by_kind(group, "v1", name)
    assert kind is not None
    return kind


POD = must_kind("", "Pod")
NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def ago(**delta: float) -> str:
    return (NOW - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(containers: int = 1, init: int = 0, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(minutes=10)},
        "spec": {
            "containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)],
            **({"initContainers": [{"name": f"i{i}", "image": "busybox"} for i in range(init)]} if init else {}),
        },
        "status": status,
    }


def running(name: str = "c0", ready: bool = True, restarts: int = 0) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": restarts,
            "state": {"running": {"startedAt": ago(minutes=9)}}}


def waiting(name: str, reason: str, restarts: int = 0) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}


def terminated(name: str, exit_code: int, reason: str = "", signal: int = 0, restarts: int = 0) -> dict[str, Any]:
    t: dict[str, Any] = {"exitCode": exit_code, "finishedAt": ago(minutes=1)}
    if reason:
        t["reason"] = reason
    if signal:
        t["signal"] = signal
    return {"name": name, "ready": False, "restartCount": restarts, "state": {"terminated": t}}


def cells(obj: dict[str, Any]) -> list[Any]:
    return row_cells(POD, obj, NOW)


def test_columns_are_kubectls_with_wide_ones_at_priority_one() -> None:
    cols = column_definitions(POD)
    assert [(c["name"], c["priority"]) for c in cols] == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0),
        ("IP", 1), ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    assert cols[0]["format"] == "name"
    assert cols[0]["description"].startswith("Name must be unique within a namespace.")
    assert all(c["type"] == "string" for c in cols)


def test_running_pod_shows_ready_count_zero_restarts_and_age() -> None:
    obj = pod(2, phase="Running", podIP="10.244.0.5",
              containerStatuses=[running("c0"), running("c1", ready=False)])
    obj["spec"]["nodeName"] = "node-1"
    assert cells(obj) == ["web", "1/2", "Running", "0", "10m", "10.244.0.5", "node-1", "<none>", "<none>"]


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ({"phase": "Pending"}, "Pending"),
        ({"phase": "Pending", "containerStatuses": [waiting("c0", "ContainerCreating")]}, "ContainerCreating"),
        ({"phase": "Pending", "containerStatuses": [waiting("c0", "ImagePullBackOff")]}, "ImagePullBackOff"),
        ({"phase": "Pending", "containerStatuses": [waiting("c0", "ErrImagePull")]}, "ErrImagePull"),
        ({"phase": "Running", "containerStatuses": [waiting("c0", "CrashLoopBackOff", 3)]}, "CrashLoopBackOff"),
        ({"phase": "Succeeded", "containerStatuses": [terminated("c0", 0, "Completed")]}, "Completed"),
        ({"phase": "Failed", "containerStatuses": [terminated("c0", 1, "Error")]}, "Error"),
        ({"phase": "Running", "containerStatuses": [terminated("c0", 137, "OOMKilled")]}, "OOMKilled"),
        ({"phase": "Failed", "containerStatuses": [terminated("c0", 0, signal=9)]}, "Signal:9"),
        ({"phase": "Failed", "containerStatuses": [terminated("c0", 2)]}, "ExitCode:2"),
        ({"phase": "Failed", "reason": "Evicted",
          "message": "The node was low on resource: memory.", "containerStatuses": [
              {"name": "c0", "ready": False, "restartCount": 0, "state": {}}]}, "Evicted"),
        ({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}, "SchedulingGated"),
        ({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}, "Pending"),
    ],
)
def test_status_column(status: dict[str, Any], shown: str) -> None:
    assert cells(pod(**status))[2] == shown


@pytest.mark.parametrize(
    ("init_statuses", "shown"),
    [
        ([{"name": "i0", "ready": False, "restartCount": 0,
           "state": {"waiting": {"reason": "PodInitializing"}}}], "Init:0/1"),
        ([{"name": "i0", "ready": False, "restartCount": 0, "state": {"running": {}}}], "Init:0/1"),
        ([waiting("i0", "CrashLoopBackOff", 4)], "Init:CrashLoopBackOff"),
        ([terminated("i0", 1, "Error")], "Init:Error"),
        ([terminated("i0", 1)], "Init:ExitCode:1"),
        ([terminated("i0", 1, signal=15)], "Init:Signal:15"),
    ],
)
def test_init_container_status(init_statuses: list[dict[str, Any]], shown: str) -> None:
    obj = pod(1, init=1, phase="Pending", initContainerStatuses=init_statuses,
              containerStatuses=[waiting("c0", "PodInitializing")])
    assert cells(obj)[1:3] == ["0/1", shown]


def test_second_of_two_init_containers_shows_init_1_of_2() -> None:
    obj = pod(1, init=2, phase="Pending", initContainerStatuses=[
        terminated("i0", 0, "Completed"), {"name": "i1", "restartCount": 0, "state": {"running": {}}}])
    assert cells(obj)[2] == "Init:1/2"


def test_init_restarts_count_while_initializing() -> None:
    obj = pod(1, init=1, phase="Pending", initContainerStatuses=[waiting("i0", "CrashLoopBackOff", 4)])
    assert cells(obj)[3] == "4"


def test_restarts_show_when_the_last_one_happened() -> None:
    status = running(restarts=5)
    status["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error",
                                          "finishedAt": ago(minutes=2, seconds=30)}}
    assert cells(pod(phase="Running", containerStatuses=[status]))[3] == "5 (2m30s ago)"


def test_restarts_without_a_last_termination_are_just_a_number() -> None:
    assert cells(pod(phase="Running", containerStatuses=[running(restarts=2)]))[3] == "2"


def test_deleting_pod_is_terminating() -> None:
    obj = pod(phase="Running", containerStatuses=[running()])
    obj["metadata"]["deletionTimestamp"] = ago(seconds=5)
    assert cells(obj)[1:3] == ["1/1", "Terminating"]


def test_deleting_finished_pod_keeps_its_status() -> None:
    obj = pod(phase="Succeeded", containerStatuses=[terminated("c0", 0, "Completed")])
    obj["metadata"]["deletionTimestamp"] = ago(seconds=5)
    assert cells(obj)[2] == "Completed"


def test_pod_on_lost_node_is_unknown() -> None:
    obj = pod(phase="Running", reason="NodeLost", containerStatuses=[running()])
    obj["metadata"]["deletionTimestamp"] = ago(seconds=5)
    assert cells(obj)[2] == "Unknown"


def test_completed_container_next_to_a_running_one() -> None:
    statuses = [running("c0"), terminated("c1", 0, "Completed")]
    ready = [{"type": "Ready", "status": "True"}]
    assert cells(pod(2, phase="Running", containerStatuses=statuses, conditions=ready))[1:3] == ["1/2", "Running"]
    assert cells(pod(2, phase="Running", containerStatuses=statuses))[1:3] == ["1/2", "NotReady"]


def test_sidecar_init_containers_count_as_containers() -> None:
    obj = pod(1, init=1, phase="Running",
              initContainerStatuses=[{**running("i0", restarts=1), "started": True}],
              containerStatuses=[running("c0")],
              conditions=[{"type": "Initialized", "status": "True"}])
    obj["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    assert cells(obj)[1:4] == ["2/2", "Running", "1"]


def test_readiness_gates_and_nominated_node() -> None:
    obj = pod(phase="Pending", nominatedNodeName="node-2", conditions=[
        {"type": "example.com/lb-ready", "status": "True"},
        {"type": "example.com/dns", "status": "False"}])
    obj["spec"]["readinessGates"] = [{"conditionType": "example.com/lb-ready"},
                                     {"conditionType": "example.com/dns"}]
    assert cells(obj)[5:] == ["<none>", "<none>", "node-2", "1/2"]


def test_pod_ip_falls_back_to_pod_ips() -> None:
    obj = pod(phase="Running", podIPs=[{"ip": "fd00::5"}, {"ip": "10.0.0.5"}])
    assert cells(obj)[5] == "fd00::5"


def test_unknown_age_when_creation_timestamp_missing() -> None:
    obj = pod(phase="Pending")
    del obj["metadata"]["creationTimestamp"]
    assert cells(obj)[4] == "<unknown>"
