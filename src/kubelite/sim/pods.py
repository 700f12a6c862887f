"""Pods bound to simulated nodes "run": their status is reported as a kubelet would.

One Informer watches every bound pod (`spec.nodeName!=`), however many nodes there are; pods of
other nodes are ignored. Keys go through a WorkQueue to a fixed number of workers, and each
reconcile is idempotent: given the cached pod, make its reported status match what a kubelet
running it would report.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any

from kubelite.client import (
    ApiClient,
    Conflict,
    Informer,
    NotFound,
    QueueShutDown,
    WorkQueue,
    object_key,
)
from kubelite.sim.clock import parse_time, rfc3339, utcnow
from kubelite.sim.config import (
    EXIT_CODE_ANNOTATION,
    FIELD_MANAGER,
    RUN_SECONDS_ANNOTATION,
    TERMINATION_SECONDS_ANNOTATION,
)
from kubelite.sim.node_agent import SimNode
from kubelite.sim.pod_status import finished_status, running_status
from kubelite.sim.writer import Writer

log = logging.getLogger(__name__)

Pod = dict[str, Any]
NODE_INDEX = "spec.nodeName"


def _node_of(pod: Pod) -> list[str]:
    name = (pod.get("spec") or {}).get("nodeName")
    return [name] if name else []


def _annotation_float(pod: Pod, key: str) -> float | None:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(key)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def exit_code_of(pod: Pod) -> int | None:
    """The exit code a pod asks to end with (restartPolicy Never only), or None to run on."""
    if (pod.get("spec") or {}).get("restartPolicy") != "Never":
        return None
    code = _annotation_float(pod, EXIT_CODE_ANNOTATION)
    return int(code) if code is not None else None


def deletion_deadline(pod: Pod) -> datetime.datetime | None:
    """When the kubelet may finish deleting the pod: at once, unless the pod says its
    containers take `sim-termination-seconds` to stop (never beyond the grace period)."""
    meta = pod.get("metadata") or {}
    deadline = parse_time(meta.get("deletionTimestamp"))
    stop_seconds = _annotation_float(pod, TERMINATION_SECONDS_ANNOTATION)
    if deadline is None or not stop_seconds:
        return None
    requested = deadline - datetime.timedelta(seconds=meta.get("deletionGracePeriodSeconds") or 0)
    return min(deadline, requested + datetime.timedelta(seconds=stop_seconds))


class PodRunner:
    """Reports bound pods of simulated nodes as running, finished, or deleted."""

    def __init__(self, client: ApiClient, writer: Writer, nodes: dict[str, SimNode],
                 workers: int = 64) -> None:
        self.client = client
        self.writer = writer
        self.nodes = nodes
        self.workers = workers
        self.informer = Informer(client, "pods", field_selector="spec.nodeName!=", raw=True,
                                 indexers={NODE_INDEX: _node_of})
        self.queue: WorkQueue[str] = WorkQueue(base_delay=0.05, max_delay=30.0)
        self.informer.on_add(self._enqueue)
        self.informer.on_update(lambda _old, new: self._enqueue(new))
        self.informer.on_delete(self._forget)
        self._tasks: list[asyncio.Task[None]] = []
        # When we reported each pod running: startTime has whole seconds only, too coarse for
        # sub-second sim-run-seconds.
        self._started: dict[str, datetime.datetime] = {}

    async def start(self) -> None:
        self.informer.start()
        await self.informer.has_synced()
        self._tasks = [asyncio.create_task(self._work(), name=f"sim-pods-{i}")
                       for i in range(self.workers)]

    async def stop(self) -> None:
        self.queue.shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.informer.stop()

    def resync(self, node_name: str) -> None:
        """Reconcile every pod of a node again (after it resumes)."""
        for pod in self.informer.by_index(NODE_INDEX, node_name):
            self.queue.add(object_key(pod))

    # -- informer handlers ------------------------------------------------------------------

    def _enqueue(self, pod: Pod) -> None:
        node = self.nodes.get(_node_of(pod)[0]) if _node_of(pod) else None
        if node is not None and not node.paused:
            self.queue.add(object_key(pod))

    def _forget(self, pod: Pod) -> None:
        names = _node_of(pod)
        node = self.nodes.get(names[0]) if names else None
        key = object_key(pod)
        self._started.pop(key, None)
        if node is not None:
            node.pods.release(key)

    # -- workers ----------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            try:
                await self.reconcile(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except NotFound:
                self.queue.forget(key)  # the pod is gone; its delete event cleans up
            except Exception as e:
                log.debug("pod %s: %s; retrying", key, e)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    async def reconcile(self, key: str) -> None:
        pod = self.informer.get(key)
        if pod is None:
            return
        names = _node_of(pod)
        node = self.nodes.get(names[0]) if names else None
        if node is None or node.paused:
            return
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            await self._finish_deletion(key, pod)
            return
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return
        pod_ip = self._pod_ip(key, pod, node)
        if pod_ip is None:
            return
        if not (status.get("phase") == "Running" and status.get("podIP") == pod_ip
                and status.get("hostIP") == node.internal_ip):
            started_at = utcnow()
            await self._patch_status(
                pod, running_status(pod, node.internal_ip, pod_ip, rfc3339(started_at)))
            self._started.setdefault(key, started_at)
            return  # the informer brings the pod back (and with it any completion timer)
        exit_code = exit_code_of(pod)
        started = self._started.get(key) or parse_time(status.get("startTime"))
        if exit_code is None or started is None:
            return
        run_for = _annotation_float(pod, RUN_SECONDS_ANNOTATION) or 0.0
        remaining = (started - utcnow()).total_seconds() + run_for
        if remaining > 0:
            self.queue.add_after(key, remaining)
            return
        now = rfc3339(utcnow())
        await self._patch_status(
            pod, finished_status(pod, node.internal_ip, pod_ip, exit_code, now))

    def _pod_ip(self, key: str, pod: Pod, node: SimNode) -> str | None:
        """hostNetwork pods share the node's IP; others keep theirs or get the next free one."""
        if (pod.get("spec") or {}).get("hostNetwork"):
            return node.internal_ip
        status = pod.get("status") or {}
        reported = status.get("podIP")
        if reported and status.get("hostIP") == node.internal_ip and node.pods.reserve(key, reported):
            return str(reported)
        try:
            return node.pods.allocate(key)
        except RuntimeError as e:
            log.warning("pod %s on node %s: %s", key, node.name, e)
            return None

    async def _patch_status(self, pod: Pod, status: dict[str, Any]) -> None:
        meta = pod["metadata"]
        await self.writer.call(lambda: self.client.patch(
            "pods", meta["name"], meta.get("namespace"), {"status": status},
            subresource="status", field_manager=FIELD_MANAGER, raw=True))

    async def _finish_deletion(self, key: str, pod: Pod) -> None:
        deadline = deletion_deadline(pod)
        if deadline is not None:
            remaining = (deadline - utcnow()).total_seconds()
            if remaining > 0:
                self.queue.add_after(key, remaining)
                return
        meta = pod["metadata"]
        preconditions = {"uid": meta["uid"]} if meta.get("uid") else None
        try:
            await self.writer.call(lambda: self.client.delete(
                "pods", meta["name"], meta.get("namespace"), grace_period=0,
                preconditions=preconditions))
        except (NotFound, Conflict):
            pass  # already gone, or the name now belongs to a new pod
