"""Ephemeral containers (`kubectl debug`): what the pod worker needs to run and report them.

They are started once in a running pod, never restarted, share the pod's network, IPC and
UTS namespaces, and with `targetContainerName` the target container's process namespace
(the CRI's NamespaceMode TARGET; with runc: the target process's /proc/PID/ns/pid joined in
the OCI spec). Their statuses are containerStatuses without readiness or probes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubelite.kubelet.pod_status import Waiting, container_status
from kubelite.kubelet.records import ContainerInfo

TARGET_NOT_RUNNING = "CreateContainerError"


def target_pid_namespace(target: ContainerInfo | None) -> str | None:
    """The pid namespace path of a running target container; None while it does not run."""
    if target is None or target.status != "running" or not target.pid:
        return None
    return f"/proc/{target.pid}/ns/pid"


def target_waiting(name: str) -> Waiting:
    return Waiting(TARGET_NOT_RUNNING, f'target container "{name}" is not running')


def ephemeral_status(spec: Mapping[str, Any], instances: Sequence[ContainerInfo],
                     waiting: Waiting | None, runtime: str) -> dict[str, Any]:
    """One entry of ephemeralContainerStatuses: never ready, no `started` (no probes)."""
    status = container_status(spec, instances, waiting, runtime)
    status["ready"] = False
    status.pop("started", None)
    return status
