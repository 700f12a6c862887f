"""Pure kubelet logic: back-off, env and $(VAR) expansion, command rules, pod status, phase."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from kubelite.kubelet.backoff import Backoff, go_duration
from kubelite.kubelet.command import NoCommandError, container_args
from kubelite.kubelet.envvars import ConfigError, container_env, expand, merge_image_env
from kubelite.kubelet.pod_spec import default_pull_policy, should_restart
from kubelite.kubelet.pod_status import Waiting, container_status, pod_conditions, pod_phase
from kubelite.kubelet.records import ContainerInfo, ContainerRecord


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_first_retry_is_immediate_then_doubles_to_the_cap_and_resets() -> None:
    clock = Clock()
    b = Backoff(10, 300, clock=clock)
    assert b.remaining("k", clock.now) == 0
    assert [b.next("k") for _ in range(7)] == [10, 20, 40, 80, 160, 300, 300]
    assert b.remaining("k", clock.now - 100) == 200
    clock.now += 601  # ten minutes without a retry: start again at 10 s
    assert b.remaining("k", clock.now) == 0
    assert b.next("k") == 10


def test_expand_follows_kubernetes_rules() -> None:
    env = {"A": "x", "B": "y"}
    assert expand("$(A)-$(B)", env) == "x-y"
    assert expand("$$(A)", env) == "$(A)"
    assert expand("$(MISSING)", env) == "$(MISSING)"
    assert expand("$(A", env) == "$(A"


async def test_container_env_sources_and_order() -> None:
    objects = {
        ("ConfigMap", "ns", "cm"): {"data": {"K": "v", "bad key": "z"}},
        ("Secret", "ns", "s"): {"data": {"P": base64.b64encode(b"pw").decode()}},
    }

    async def fetch(kind: str, ns: str, name: str) -> dict[str, Any] | None:
        return objects.get((kind, ns, name))

    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"app": "a"}},
           "spec": {"nodeName": "n1"}, "status": {"podIP": "10.0.0.5"}}
    container = {
        "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}],
        "env": [
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "s", "key": "P"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory",
                                                               "divisor": "1Mi"}}},
            {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "x",
                                                              "optional": True}}},
            {"name": "MSG", "value": "$(NAME) on $(CM_K)"},
        ],
        "resources": {"limits": {"memory": "64Mi"}},
    }
    env = dict(await container_env(pod, container, fetch))
    assert env == {"CM_K": "v", "NAME": "p", "APP": "a", "IP": "10.0.0.5", "PW": "pw",
                   "MEM": "64", "MSG": "p on v"}
    with pytest.raises(ConfigError, match='configmap "missing" not found'):
        await container_env(pod, {"envFrom": [{"configMapRef": {"name": "missing"}}]}, fetch)
    with pytest.raises(ConfigError, match="couldn't find key Q in ConfigMap ns/cm"):
        await container_env(pod, {"env": [{"name": "X", "valueFrom": {
            "configMapKeyRef": {"name": "cm", "key": "Q"}}}]}, fetch)
    assert merge_image_env(["PATH=/bin", "A=1"], [("A", "2")]) == ["PATH=/bin", "A=2"]


def test_command_and_args_against_entrypoint_and_cmd() -> None:
    image = {"Entrypoint": ["/ep"], "Cmd": ["c1"]}
    assert container_args({}, image, {}) == ["/ep", "c1"]
    assert container_args({"command": ["x"]}, image, {}) == ["x"]
    assert container_args({"args": ["$(V)"]}, image, {"V": "v"}) == ["/ep", "v"]
    assert container_args({"command": ["x"], "args": ["y"]}, image, {}) == ["x", "y"]
    with pytest.raises(NoCommandError):
        container_args({}, {}, {})


def test_pull_policy_defaults_and_restart_rules() -> None:
    assert default_pull_policy("busybox") == "Always"
    assert default_pull_policy("busybox:latest") == "Always"
    assert default_pull_policy("busybox:1.36") == "IfNotPresent"
    assert should_restart("Always", 0) and should_restart("OnFailure", 1)
    assert not should_restart("OnFailure", 0) and not should_restart("Never", 1)
    assert [go_duration(s) for s in (10, 80, 300)] == ["10s", "1m20s", "5m0s"]


def info(name: str, attempt: int, status: str, code: int | None = None) -> ContainerInfo:
    rec = ContainerRecord(id=f"{name}{attempt}", pod_uid="u", namespace="ns", pod_name="p",
                          name=name, attempt=attempt, image_name="docker.io/library/busybox:latest",
                          image_ref="docker.io/library/busybox@sha256:1")
    ts = datetime(2024, 1, 1, tzinfo=UTC)
    return ContainerInfo(rec, status, exit_code=code, started_at=ts,  # type: ignore[arg-type]
                         finished_at=ts if status == "stopped" else None)


def test_container_status_shapes() -> None:
    spec = {"name": "c", "image": "busybox", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}
    running = container_status(spec, [info("c", 0, "stopped", 1), info("c", 1, "running")], None)
    assert running["volumeMounts"] == [{"name": "v", "mountPath": "/v"}]  # the runtime knows it
    assert running["state"] == {"running": {"startedAt": "2024-01-01T00:00:00Z"}}
    assert running["lastState"]["terminated"]["reason"] == "Error"
    assert running["restartCount"] == 1 and running["ready"] and running["started"]
    assert running["containerID"] == "runc://c1"
    crash = container_status(spec, [info("c", 0, "stopped", 1)], Waiting("CrashLoopBackOff", "m"))
    assert crash["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "m"}}
    assert crash["lastState"]["terminated"]["exitCode"] == 1
    creating = container_status(spec, [], None)
    assert creating["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert creating["image"] == "busybox" and creating["restartCount"] == 0
    assert "volumeMounts" not in creating  # not created yet: as the kubelet, no mounts to report


def status_of(state: dict[str, Any], last: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": "c", "state": state, "lastState": last or {}, "ready": "running" in state}


@pytest.mark.parametrize(("policy", "statuses", "phase"), [
    ("Always", [status_of({"running": {}})], "Running"),
    ("Always", [status_of({"waiting": {"reason": "ContainerCreating"}})], "Pending"),
    ("Always", [status_of({"waiting": {"reason": "CrashLoopBackOff"}},
                          {"terminated": {"exitCode": 1}})], "Running"),
    ("Never", [status_of({"terminated": {"exitCode": 1}})], "Failed"),
    ("Never", [status_of({"terminated": {"exitCode": 0}})], "Succeeded"),
    ("OnFailure", [status_of({"terminated": {"exitCode": 0}})], "Succeeded"),
    ("OnFailure", [status_of({"waiting": {"reason": "CrashLoopBackOff"}},
                             {"terminated": {"exitCode": 1}})], "Running"),
])
def test_pod_phase(policy: str, statuses: list[dict[str, Any]], phase: str) -> None:
    pod = {"spec": {"restartPolicy": policy, "containers": [{"name": "c"}]}}
    assert pod_phase(pod, [], statuses) == phase


def test_pod_conditions_order_and_reasons() -> None:
    pod = {"spec": {"containers": [{"name": "c"}]}}
    conds = pod_conditions(pod, "Pending", True, [], [status_of({"waiting": {}})])
    assert [c["type"] for c in conds] == ["PodReadyToStartContainers", "Initialized", "Ready",
                                          "ContainersReady", "PodScheduled"]
    ready = conds[2]
    assert ready["status"] == "False" and ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [c]"
