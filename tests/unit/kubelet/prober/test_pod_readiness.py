"""Pod conditions from container readiness and readinessGates; others' conditions are kept."""

from __future__ import annotations

from typing import Any

from kubelite.kubelet.pod_status import other_conditions, pod_conditions


def pod(gates: list[str], conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "app"}],
                     "readinessGates": [{"conditionType": g} for g in gates]},
            "status": {"conditions": conditions}}


def ready_of(conds: list[dict[str, Any]]) -> dict[str, Any]:
    return {c["type"]: c for c in conds}["Ready"]


READY = [{"name": "app", "ready": True}]


def test_ready_needs_every_readiness_gate_true() -> None:
    missing = ready_of(pod_conditions(pod(["example.com/lb"], []), "Running", True, [], READY))
    assert missing["status"] == "False" and missing["reason"] == "ReadinessGatesNotReady"
    assert missing["message"] == ('corresponding condition of pod readiness gate '
                                  '"example.com/lb" does not exist.')
    false = ready_of(pod_conditions(
        pod(["example.com/lb"], [{"type": "example.com/lb", "status": "False"}]),
        "Running", True, [], READY))
    assert false["message"] == ('the status of pod readiness gate "example.com/lb" is not '
                                '"True", but False')
    ok = ready_of(pod_conditions(
        pod(["example.com/lb"], [{"type": "example.com/lb", "status": "True"}]),
        "Running", True, [], READY))
    assert ok["status"] == "True"


def test_unready_containers_come_first_and_gate_conditions_survive() -> None:
    conds = pod_conditions(pod(["g"], []), "Running", True, [], [{"name": "app", "ready": False}])
    assert ready_of(conds)["reason"] == "ContainersNotReady"
    kept = other_conditions([{"type": "Ready", "status": "True"}, {"type": "g", "status": "True"}])
    assert kept == [{"type": "g", "status": "True"}]
