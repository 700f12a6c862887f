"""Pod updates and pod status updates."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.types import core_v1
from kubelite.api.validation import validate_pod_status_update, validate_pod_update
from kubelite.api.validation.pod import POD_UPDATE_FORBIDDEN

from .conftest import container, make_pod


def _pods(old_spec: dict[str, Any], new_spec: dict[str, Any]) -> tuple[core_v1.Pod, core_v1.Pod]:
    return make_pod(new_spec), make_pod(old_spec)


def messages(old_spec: dict[str, Any], new_spec: dict[str, Any]) -> list[str]:
    new, old = _pods(old_spec, new_spec)
    return [e.message() for e in validate_pod_update(new, old)]


BASE = {"containers": [container()]}


def test_image_may_change() -> None:
    old = {"containers": [container(image="nginx:1.25")]}
    assert messages(old, {"containers": [container(image="nginx:1.27")]}) == []


def test_other_spec_fields_are_forbidden_with_kubernetes_text() -> None:
    out = messages(BASE, {**BASE, "restartPolicy": "Never"})
    assert len(out) == 1
    assert out[0].startswith("spec: Forbidden: " + POD_UPDATE_FORBIDDEN + "\n")
    assert '-  spec.restartPolicy: "Always"' in out[0]
    assert '+  spec.restartPolicy: "Never"' in out[0]


def test_forbidden_text() -> None:
    assert POD_UPDATE_FORBIDDEN == (
        "pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
        "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
        "(allow it to be set to 1 if it was previously negative)")


def test_containers_may_not_be_added() -> None:
    out = messages(BASE, {"containers": [container(), container(name="b")]})
    assert out == ["spec.containers: Forbidden: pod updates may not add or remove containers"]


def test_tolerations_may_only_be_added() -> None:
    tol = {"key": "k", "operator": "Exists", "effect": "NoSchedule"}
    assert messages(BASE, {**BASE, "tolerations": [tol]}) == []
    old = {**BASE, "tolerations": [tol]}
    assert messages(old, {**BASE, "tolerations": [{**tol, "key": "other"}]}) == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its "
        "tolerationSeconds"]


def test_active_deadline_may_only_shrink() -> None:
    assert messages({**BASE, "activeDeadlineSeconds": 30},
                    {**BASE, "activeDeadlineSeconds": 10}) == []
    assert messages({**BASE, "activeDeadlineSeconds": 10},
                    {**BASE, "activeDeadlineSeconds": 30}) == [
        "spec.activeDeadlineSeconds: Invalid value: 30: must be less than or equal to previous "
        "value"]
    assert messages({**BASE, "activeDeadlineSeconds": 10}, BASE) == [
        "spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive "
        "integer to nil value"]


def test_scheduling_gates_may_only_be_removed() -> None:
    gated = {**BASE, "schedulingGates": [{"name": "a"}]}
    assert messages(gated, BASE) == []
    assert messages(BASE, gated) == [
        "spec.schedulingGates: Forbidden: only deletion is allowed, but found new scheduling "
        "gate 'a'"]


def test_name_is_immutable() -> None:
    new, old = _pods(BASE, BASE)
    assert new.metadata is not None
    new.metadata.name = "other"
    out = [e.message() for e in validate_pod_update(new, old)]
    assert 'metadata.name: Invalid value: "other": field is immutable' in out


def _with_status(pod: core_v1.Pod, status: dict[str, Any]) -> core_v1.Pod:
    pod.status = msgspec.convert(status, core_v1.PodStatus)
    return pod


def test_status_update_may_not_restart_terminated_container_with_restart_never() -> None:
    spec = {**BASE, "restartPolicy": "Never"}
    terminated = {"name": "web", "image": "nginx", "imageID": "", "ready": False,
                  "restartCount": 0, "state": {"terminated": {"exitCode": 0}}}
    running = {**terminated, "state": {"running": {}}}
    old = _with_status(make_pod(spec), {"containerStatuses": [terminated]})
    new = _with_status(make_pod(spec), {"containerStatuses": [running]})
    assert [e.message() for e in validate_pod_status_update(new, old)] == [
        "status.containerStatuses[0].state: Forbidden: may not be transitioned to "
        "non-terminated state"]


def test_status_update_keeps_qos_class() -> None:
    old = _with_status(make_pod(BASE), {"qosClass": "BestEffort", "phase": "Running"})
    new = _with_status(make_pod(BASE), {"qosClass": "Guaranteed", "phase": "Running"})
    assert [e.message() for e in validate_pod_status_update(new, old)] == [
        'status.qosClass: Invalid value: "Guaranteed": field is immutable']
