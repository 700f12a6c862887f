"""Events the kubelet records about pods (`kubectl describe pod` lists them).

Reasons and messages are the kubelet's own (pkg/kubelet/events/event.go).
"""

from __future__ import annotations

from typing import Any

from kubelite.client import ApiClient
from kubelite.client.events import NORMAL, WARNING
from kubelite.client.events import EventRecorder as SharedRecorder

# Reasons (pkg/kubelet/events).
PULLING = "Pulling"
PULLED = "Pulled"
FAILED = "Failed"
BACK_OFF = "BackOff"
CREATED = "Created"
STARTED = "Started"
KILLING = "Killing"
FAILED_POST_START_HOOK = "FailedPostStartHook"
FAILED_PRE_STOP_HOOK = "FailedPreStopHook"
SANDBOX_CHANGED = "SandboxChanged"
FAILED_CREATE_POD_SANDBOX = "FailedCreatePodSandBox"
FAILED_MOUNT = "FailedMount"
EVICTED = "Evicted"


def field_path(pod: dict[str, Any], container: str) -> str:
    spec = pod.get("spec") or {}
    for c in spec.get("initContainers") or []:
        if c.get("name") == container:
            return f"spec.initContainers{{{container}}}"
    return f"spec.containers{{{container}}}"


class EventRecorder:
    """The kubelet's view of the shared recorder: events about a pod and one of its containers."""

    def __init__(self, client: ApiClient, node_name: str) -> None:
        self.recorder = SharedRecorder(client, "kubelet", node_name)

    def emit(self, pod: dict[str, Any], reason: str, message: str, *, warning: bool = False,
             container: str | None = None) -> None:
        self.recorder.emit(pod, WARNING if warning else NORMAL, reason, message,
                           field_path=field_path(pod, container) if container else None,
                           involved_kind="pods")

    async def flush(self) -> None:
        await self.recorder.flush()
