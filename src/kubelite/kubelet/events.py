"""Events the kubelet records about pods (`kubectl describe pod` lists them).

Reasons and messages are the kubelet's own (pkg/kubelet/events/event.go).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from kubelite.client import ApiClient
from kubelite.kubelet.pod_status import rfc3339

log = logging.getLogger(__name__)

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
    """Posts events in the background, a bounded number at a time; never blocks a worker."""

    def __init__(self, client: ApiClient, node_name: str, parallel: int = 8) -> None:
        self.client = client
        self.node_name = node_name
        self._sem = asyncio.Semaphore(parallel)
        self._tasks: set[asyncio.Task[None]] = set()

    def emit(self, pod: dict[str, Any], reason: str, message: str, *, warning: bool = False,
             container: str | None = None) -> None:
        meta = pod.get("metadata") or {}
        now = rfc3339()
        involved: dict[str, Any] = {
            "apiVersion": "v1", "kind": "Pod", "name": meta.get("name"),
            "namespace": meta.get("namespace"), "uid": meta.get("uid"),
        }
        if container:
            involved["fieldPath"] = field_path(pod, container)
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta.get('name')}.{uuid.uuid4().hex[:16]}",
                         "namespace": meta.get("namespace") or "default"},
            "involvedObject": involved,
            "reason": reason, "message": message,
            "type": "Warning" if warning else "Normal",
            "source": {"component": "kubelet", "host": self.node_name},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": "kubelet", "reportingInstance": self.node_name,
        }
        task = asyncio.get_running_loop().create_task(self._post(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, event: dict[str, Any]) -> None:
        async with self._sem:
            try:
                await self.client.create("events", event, event["metadata"]["namespace"], raw=True)
            except Exception as e:  # noqa: BLE001 - events are best effort
                log.debug("event %s not recorded: %s", event["reason"], e)

    async def flush(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
