"""`kubectl get pods`: printPod, with Kubernetes' exact Ready/Status/Restarts logic."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.tables._base import (
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    doc,
    elapsed,
    meta,
    name,
    name_column,
    parse_time,
    spec,
    status,
)

POD_SPEC = "io.k8s.api.core.v1.PodSpec"
POD_STATUS = "io.k8s.api.core.v1.PodStatus"

# The pod reason a node controller sets when it gives up on an unreachable node.
NODE_UNREACHABLE_POD_REASON = "NodeLost"

COLUMNS = columns(
    name_column(),
    Column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    Column("Status", "string", "The aggregate status of the containers in this pod."),
    Column("Restarts", "string", "The number of times the containers in this pod have been "
           "restarted and when the last container in this pod has restarted."),
    age_column(),
    Column("IP", "string", doc(POD_STATUS, "podIP"), priority=1),
    Column("Node", "string", doc(POD_SPEC, "nodeName"), priority=1),
    Column("Nominated Node", "string", doc(POD_STATUS, "nominatedNodeName"), priority=1),
    Column("Readiness Gates", "string", doc(POD_SPEC, "readinessGates"), priority=1),
)

_SUCCEEDED_CONDITIONS = [{"type": "Completed", "status": "True", "reason": "Succeeded",
                          "message": "The pod has completed successfully."}]
_FAILED_CONDITIONS = [{"type": "Completed", "status": "True", "reason": "Failed",
                       "message": "The pod failed."}]


def _restartable(container: Obj | None) -> bool:
    """A sidecar: an init container with restartPolicy Always."""
    return container is not None and container.get("restartPolicy") == "Always"


def _condition_true(conditions: list[Obj], kind: str) -> bool:
    """The first condition of this type is True (isPodInitializedConditionTrue)."""
    for c in conditions:
        if c.get("type") == kind:
            return bool(c.get("status") == "True")
    return False


def _later(current: dt.datetime | None, terminated: Obj | None) -> dt.datetime | None:
    """The later of `current` and a last termination's finishedAt."""
    if terminated is None:
        return current
    finished = parse_time(terminated.get("finishedAt"))
    if finished is not None and (current is None or current < finished):
        return finished
    return current


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + terminated["reason"]
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def pod_row(pod: Obj, now: dt.datetime) -> list[Any]:
    pod_spec, pod_status = spec(pod), status(pod)
    conditions: list[Obj] = pod_status.get("conditions") or []
    init_specs: list[Obj] = pod_spec.get("initContainers") or []
    init_by_name = {c.get("name"): c for c in init_specs}

    total = len(pod_spec.get("containers") or []) + sum(1 for c in init_specs if _restartable(c))
    ready = restarts = sidecar_restarts = 0
    last_restart: dt.datetime | None = None
    last_sidecar_restart: dt.datetime | None = None

    phase: str = pod_status.get("phase") or ""
    reason: str = pod_status.get("reason") or phase
    for c in conditions:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for i, cs in enumerate(pod_status.get("initContainerStatuses") or []):
        count = cs.get("restartCount") or 0
        last_terminated = (cs.get("lastState") or {}).get("terminated")
        restarts += count
        last_restart = _later(last_restart, last_terminated)
        sidecar = _restartable(init_by_name.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += count
            last_sidecar_restart = _later(last_sidecar_restart, last_terminated)
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and (terminated.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:  # initialization failed
            reason = _terminated_reason(terminated, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(conditions, "Initialized"):
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        for cs in reversed(pod_status.get("containerStatuses") or []):
            restarts += cs.get("restartCount") or 0
            last_restart = _later(last_restart, (cs.get("lastState") or {}).get("terminated"))
            state = cs.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        # A pod whose last container completed but another still runs is not Completed.
        if reason == "Completed" and has_running:
            ready_condition = any(c.get("type") == "Ready" and c.get("status") == "True"
                                  for c in conditions)
            reason = "Running" if ready_condition else "NotReady"

    if meta(pod).get("deletionTimestamp"):
        if pod_status.get("reason") == NODE_UNREACHABLE_POD_REASON:
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({elapsed(last_restart, now)} ago)"

    return [
        name(pod), f"{ready}/{total}", reason, restarts_cell, age(pod, now),
        _pod_ip(pod_status) or "<none>",
        pod_spec.get("nodeName") or "<none>",
        pod_status.get("nominatedNodeName") or "<none>",
        _readiness_gates(pod_spec, conditions),
    ]


def _pod_ip(pod_status: Obj) -> str:
    # The v1 -> internal conversion makes podIP authoritative over podIPs[0].
    if pod_status.get("podIP"):
        ip: str = pod_status["podIP"]
        return ip
    ips = pod_status.get("podIPs") or []
    return str(ips[0].get("ip") or "") if ips else ""


def _readiness_gates(pod_spec: Obj, conditions: list[Obj]) -> str:
    gates = pod_spec.get("readinessGates") or []
    if not gates:
        return "<none>"
    true_count = 0
    for gate in gates:
        for c in conditions:
            if c.get("type") == gate.get("conditionType"):
                true_count += c.get("status") == "True"
                break
    return f"{true_count}/{len(gates)}"


def pod_conditions(pod: Obj) -> list[dict[str, str]] | None:
    phase = status(pod).get("phase")
    if phase == "Succeeded":
        return _SUCCEEDED_CONDITIONS
    if phase == "Failed":
        return _FAILED_CONDITIONS
    return None


PRINTER = Printer(COLUMNS, pod_row, pod_conditions)
