"""The pod status a real kubelet reports, computed from the pod alone (pure functions).

A running pod: phase Running, the five conditions True, host and pod IPs, and every container
running, started and ready; init containers have run to completion (sidecars, init containers
with restartPolicy Always, keep running). A finished pod: phase Succeeded or Failed, containers
terminated with the exit code, and Ready/ContainersReady False with reason PodCompleted.
"""

from __future__ import annotations

import hashlib
from typing import Any

from kubelite.api.volume_mounts import mount_statuses

Pod = dict[str, Any]
Condition = tuple[str, str, str | None]  # type, status, reason

RUNNING_CONDITIONS: tuple[Condition, ...] = (
    ("PodReadyToStartContainers", "True", None),
    ("Initialized", "True", None),
    ("Ready", "True", None),
    ("ContainersReady", "True", None),
    ("PodScheduled", "True", None),
)
FINISHED_CONDITIONS: tuple[Condition, ...] = (
    ("PodReadyToStartContainers", "False", None),
    ("Initialized", "True", "PodCompleted"),
    ("Ready", "False", "PodCompleted"),
    ("ContainersReady", "False", "PodCompleted"),
    ("PodScheduled", "True", None),
)


def normalize_image(image: str) -> str:
    """The image as the runtime reports it: nginx -> docker.io/library/nginx:latest."""
    name, digest = (image.split("@", 1) + [""])[:2]
    first, _, rest = name.partition("/")
    if not rest:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if digest:
        return f"{name}@{digest}"
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def image_id(image: str) -> str:
    """A repo@sha256 digest, fake but stable for a given image."""
    normalized = normalize_image(image)
    if "@" in normalized:
        return normalized
    repo = normalized.rsplit(":", 1)[0]
    return f"{repo}@sha256:{hashlib.sha256(normalized.encode()).hexdigest()}"


def container_id(pod_uid: str, container: str) -> str:
    return "sim://" + hashlib.sha256(f"{pod_uid}/{container}".encode()).hexdigest()


def merge_conditions(existing: list[dict[str, Any]] | None, wanted: tuple[Condition, ...],
                     now: str) -> list[dict[str, Any]]:
    """Our conditions (keeping lastTransitionTime where the status did not change), then others'."""
    old = {c.get("type"): c for c in existing or []}
    out: list[dict[str, Any]] = []
    for ctype, status, reason in wanted:
        prev = old.get(ctype)
        transition = prev.get("lastTransitionTime") if prev and prev.get("status") == status else None
        cond: dict[str, Any] = {"type": ctype, "status": status, "lastProbeTime": None,
                                "lastTransitionTime": transition or now}
        if reason:
            cond["reason"] = reason
        out.append(cond)
    ours = {w[0] for w in wanted}
    out.extend(c for c in existing or [] if c.get("type") not in ours)
    return out


def _base(pod: Pod, container: dict[str, Any]) -> dict[str, Any]:
    uid = str((pod.get("metadata") or {}).get("uid") or "")
    name, image = container["name"], container.get("image") or ""
    status = {"name": name, "image": normalize_image(image), "imageID": image_id(image),
              "containerID": container_id(uid, name), "restartCount": 0, "lastState": {}}
    mounts = mount_statuses(container)
    if mounts:
        status["volumeMounts"] = mounts
    return status


def _running(pod: Pod, container: dict[str, Any], started_at: str) -> dict[str, Any]:
    status = _base(pod, container)
    status.update(ready=True, started=True, state={"running": {"startedAt": started_at}})
    return status


def _terminated(pod: Pod, container: dict[str, Any], exit_code: int, started_at: str,
                finished_at: str, ready: bool) -> dict[str, Any]:
    status = _base(pod, container)
    terminated = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                  "startedAt": started_at, "finishedAt": finished_at,
                  "containerID": status["containerID"]}
    status.update(ready=ready, started=False, state={"terminated": terminated})
    return status


def _init_statuses(pod: Pod, started_at: str, sidecars_running: bool) -> list[dict[str, Any]]:
    out = []
    for c in (pod.get("spec") or {}).get("initContainers") or []:
        if c.get("restartPolicy") == "Always" and sidecars_running:
            out.append(_running(pod, c, started_at))
        else:  # a completed init container reports ready, not started
            out.append(_terminated(pod, c, 0, started_at, started_at, ready=True))
    return out


def _ips(host_ip: str, pod_ip: str) -> dict[str, Any]:
    return {"hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
            "podIP": pod_ip, "podIPs": [{"ip": pod_ip}]}


def running_status(pod: Pod, host_ip: str, pod_ip: str, now: str) -> dict[str, Any]:
    """status for a pod whose containers all run (startTime kept if already set)."""
    old = pod.get("status") or {}
    start = old.get("startTime") or now
    spec = pod.get("spec") or {}
    status: dict[str, Any] = {
        "phase": "Running",
        "conditions": merge_conditions(old.get("conditions"), RUNNING_CONDITIONS, now),
        **_ips(host_ip, pod_ip),
        "startTime": start,
        "containerStatuses": [_running(pod, c, start) for c in spec.get("containers") or []],
    }
    if spec.get("initContainers"):
        status["initContainerStatuses"] = _init_statuses(pod, start, sidecars_running=True)
    return status


def finished_status(pod: Pod, host_ip: str, pod_ip: str, exit_code: int,
                    now: str) -> dict[str, Any]:
    """status for a pod whose containers all exited with exit_code (Succeeded iff 0)."""
    old = pod.get("status") or {}
    start = old.get("startTime") or now
    spec = pod.get("spec") or {}
    status: dict[str, Any] = {
        "phase": "Succeeded" if exit_code == 0 else "Failed",
        "conditions": merge_conditions(old.get("conditions"), FINISHED_CONDITIONS, now),
        **_ips(host_ip, pod_ip),
        "startTime": start,
        "containerStatuses": [_terminated(pod, c, exit_code, start, now, ready=False)
                              for c in spec.get("containers") or []],
    }
    if spec.get("initContainers"):
        status["initContainerStatuses"] = _init_statuses(pod, start, sidecars_running=False)
    return status
