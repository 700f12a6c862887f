"""Pod status exactly as the kubelet reports it, computed from what the runtime says.

Pure functions: given the pod (a dict), the instances of each container (latest last) and
the reasons a container is waiting, produce `status`. Mirrors kubelet_pods.go
(`getPhase`, `convertToAPIContainerStatuses`) and pkg/kubelet/status (`GeneratePodReadyCondition`
and friends).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from kubelite.api.volume_mounts import mount_statuses
from kubelite.kubelet.records import ContainerInfo

CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"


def rfc3339(ts: datetime | float | None = None) -> str:
    if ts is None:
        ts = datetime.now(UTC)
    elif isinstance(ts, float | int):
        ts = datetime.fromtimestamp(ts, UTC)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Waiting:
    reason: str
    message: str = ""


def container_id(info: ContainerInfo, runtime: str = "runc") -> str:
    return f"{runtime}://{info.id}"


def terminated_state(info: ContainerInfo, runtime: str = "runc") -> dict[str, Any]:
    code = info.exit_code if info.exit_code is not None else 137
    if info.oom_killed:
        reason = "OOMKilled"
    elif info.exit_code is None:
        reason = "ContainerStatusUnknown"
    else:
        reason = "Completed" if code == 0 else "Error"
    state: dict[str, Any] = {"exitCode": code, "reason": reason,
                             "containerID": container_id(info, runtime)}
    if info.message:
        state["message"] = info.message
    if info.started_at:
        state["startedAt"] = rfc3339(info.started_at)
    if info.finished_at:
        state["finishedAt"] = rfc3339(info.finished_at)
    if info.exit_code is None and not state.get("message"):
        state["message"] = "The container could not be located when the pod was terminated"
    return state


def container_status(spec: Mapping[str, Any], instances: Sequence[ContainerInfo],
                     waiting: Waiting | None, runtime: str = "runc",
                     default_waiting: str = CONTAINER_CREATING) -> dict[str, Any]:
    """One entry of containerStatuses: instances are this container's, oldest first."""
    cur = instances[-1] if instances else None
    prev = instances[-2] if len(instances) > 1 else None
    status: dict[str, Any] = {
        "name": spec["name"],
        "image": (cur.record.image_name if cur and cur.record.image_name else spec.get("image", "")),
        "imageID": cur.record.image_ref if cur else "",
        "ready": False,
        "restartCount": cur.record.attempt if cur else 0,
        "started": False,
        "lastState": {},
    }
    if cur is not None:  # the runtime knows this container: its mounts are reported (1.31+)
        status["containerID"] = container_id(cur, runtime)
        mounts = mount_statuses(spec)
        if mounts:
            status["volumeMounts"] = mounts
    if cur is not None and cur.status == "running" and waiting is None:
        status["state"] = {"running": {"startedAt": rfc3339(cur.started_at)}}
        status["ready"] = True
        status["started"] = True
        if prev is not None and prev.exited:
            status["lastState"] = {"terminated": terminated_state(prev, runtime)}
    elif cur is not None and cur.exited and waiting is None:
        status["state"] = {"terminated": terminated_state(cur, runtime)}
        if prev is not None and prev.exited:
            status["lastState"] = {"terminated": terminated_state(prev, runtime)}
    else:
        w = waiting or Waiting(default_waiting)
        state: dict[str, Any] = {"reason": w.reason}
        if w.message:
            state["message"] = w.message
        status["state"] = {"waiting": state}
        if cur is not None and cur.exited:
            status["lastState"] = {"terminated": terminated_state(cur, runtime)}
    return status


def _succeeded(cs: Mapping[str, Any]) -> bool:
    term = cs.get("state", {}).get("terminated")
    return bool(term) and term.get("exitCode") == 0


def init_done(pod: Mapping[str, Any], init_statuses: Sequence[Mapping[str, Any]]) -> bool:
    init = (pod.get("spec") or {}).get("initContainers") or []
    return len(init_statuses) == len(init) and all(_succeeded(cs) for cs in init_statuses)


def pod_phase(pod: Mapping[str, Any], init_statuses: Sequence[Mapping[str, Any]],
              statuses: Sequence[Mapping[str, Any]]) -> str:
    """kubelet's getPhase."""
    spec = pod.get("spec") or {}
    policy = spec.get("restartPolicy") or "Always"
    init_failed = False
    pending_init = False
    for cs in init_statuses:
        state = cs.get("state", {})
        if _succeeded(cs):
            continue
        pending_init = True
        term = state.get("terminated") or (state.get("waiting") and
                                           cs.get("lastState", {}).get("terminated"))
        if term and term.get("exitCode", 0) != 0 and policy == "Never":
            init_failed = True
    if init_failed:
        return "Failed"
    if len(init_statuses) < len(spec.get("initContainers") or []):
        pending_init = True
    running = waiting = stopped = succeeded = 0
    for cs in statuses:
        state = cs.get("state", {})
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            if state["terminated"].get("exitCode") == 0:
                succeeded += 1
        elif "waiting" in state:
            if cs.get("lastState", {}).get("terminated"):
                stopped += 1
            else:
                waiting += 1
    if pending_init:
        return "Pending"
    if waiting > 0:
        return "Pending"
    if running > 0:
        return "Running"
    if stopped > 0 and stopped == len(statuses):
        if policy == "Always":
            return "Running"
        if succeeded == stopped:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _condition(ctype: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    cond: dict[str, Any] = {"type": ctype, "status": "True" if ok else "False",
                            "lastProbeTime": None}
    if not ok and reason:
        cond["reason"] = reason
    if not ok and message:
        cond["message"] = message
    return cond


def pod_conditions(pod: Mapping[str, Any], phase: str, sandbox_ready: bool,
                   init_statuses: Sequence[Mapping[str, Any]],
                   statuses: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled."""
    spec = pod.get("spec") or {}
    conds: list[dict[str, Any]] = [_condition("PodReadyToStartContainers", sandbox_ready)]
    if phase == "Succeeded" or init_done(pod, init_statuses):
        conds.append(_condition("Initialized", True))
    else:
        waiting = [cs["name"] for cs in init_statuses if not _succeeded(cs)]
        names = waiting or [c["name"] for c in spec.get("initContainers") or []]
        conds.append(_condition("Initialized", False, "ContainersNotInitialized",
                                f"containers with incomplete status: [{' '.join(names)}]"))
    unready = [cs["name"] for cs in statuses if not cs.get("ready")]
    if phase == "Succeeded":
        ready = _condition("ContainersReady", False, "PodCompleted")
    elif unready:
        ready = _condition("ContainersReady", False, "ContainersNotReady",
                           f"containers with unready status: [{' '.join(unready)}]")
    else:
        ready = _condition("ContainersReady", True)
    pod_ready = dict(ready, type="Ready")
    gates = unready_gates(pod) if ready["status"] == "True" else []
    if gates:
        pod_ready = _condition("Ready", False, "ReadinessGatesNotReady", ", ".join(gates))
    conds.append(pod_ready)
    conds.append(ready)
    conds.append(_condition("PodScheduled", True))
    return conds


KUBELET_CONDITIONS = frozenset(
    {"PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"})


def unready_gates(pod: Mapping[str, Any]) -> list[str]:
    """Why the pod's readinessGates hold it back (pkg/kubelet/status GeneratePodReadyCondition)."""
    have = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or []}
    out = []
    for gate in (pod.get("spec") or {}).get("readinessGates") or []:
        ctype = gate.get("conditionType", "")
        cond = have.get(ctype)
        if cond is None:
            out.append(f'corresponding condition of pod readiness gate "{ctype}" does not exist.')
        elif cond.get("status") != "True":
            out.append(f'the status of pod readiness gate "{ctype}" is not "True", '
                       f"but {cond.get('status')}")
    return out


def other_conditions(old: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Conditions other components own (readiness gates, DisruptionTarget): kept as they are."""
    return [dict(c) for c in old or [] if c.get("type") not in KUBELET_CONDITIONS]


def keep_transition_times(new: list[dict[str, Any]], old: Sequence[Mapping[str, Any]] | None,
                          now: str) -> None:
    """A condition whose status did not change keeps its lastTransitionTime."""
    before = {c.get("type"): c for c in old or []}
    for cond in new:
        prev = before.get(cond["type"])
        if prev is not None and prev.get("status") == cond["status"] and prev.get(
                "lastTransitionTime"):
            cond["lastTransitionTime"] = prev["lastTransitionTime"]
        else:
            cond["lastTransitionTime"] = now


def qos_class(pod: Mapping[str, Any]) -> str:
    from kubelite.api.defaults.qos import pod_qos_class
    from kubelite.api.types import core_v1

    status = pod.get("status") or {}
    if status.get("qosClass"):
        return str(status["qosClass"])
    try:
        return pod_qos_class(msgspec.convert(dict(pod), core_v1.Pod))
    except (msgspec.ValidationError, TypeError):
        return "BestEffort"
