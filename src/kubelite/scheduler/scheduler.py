"""The default-scheduler: informers feed the cache and queue; one cycle at a time picks a node;
bindings are written asynchronously. It talks to the cluster only through the API client.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import random
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import msgspec

from kubelite.api.types import core_v1
from kubelite.client.api_client import resolve_kind
from kubelite.client.events import EventRecorder
from kubelite.client.informer import Informer, InformerView
from kubelite.scheduler.algorithm import Algorithm, FitError, NodeReport
from kubelite.scheduler.cache import SchedulerCache, Snapshot, pod_key
from kubelite.scheduler.framework import ApiPatch, Event
from kubelite.scheduler.plugins import default_preemption as preemption
from kubelite.scheduler.queue import QueuedPod, SchedulingQueue
from kubelite.scheduler.registry import Profile, default_profile

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER_NAME = "default-scheduler"
REASON_SCHEDULED = "Scheduled"
MESSAGE_SCHEDULED = "Successfully assigned {namespace}/{name} to {node}"
REASON_FAILED = "FailedScheduling"
REASON_UNSCHEDULABLE = "Unschedulable"  # the PodScheduled condition's reason
BINDING_REJECTED = "Binding rejected: {error}"

# The pods the scheduler watches, as field selectors would say: not finished, and with or
# without a node. Applied locally to one pods informer (see `is_unassigned`/`is_assigned`).
UNASSIGNED = "spec.nodeName=,status.phase!=Succeeded,status.phase!=Failed"
ASSIGNED = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"
FINISHED_PHASES = ("Succeeded", "Failed")

InformerSource = Callable[[str], Informer]
"""Gives the raw (dict) informer of a kind, e.g. a controller manager's shared one."""


def _unfinished(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in FINISHED_PHASES


def is_unassigned(pod: dict[str, Any]) -> bool:
    """UNASSIGNED, evaluated on a raw pod."""
    return not (pod.get("spec") or {}).get("nodeName") and _unfinished(pod)


def is_assigned(pod: dict[str, Any]) -> bool:
    """ASSIGNED, evaluated on a raw pod."""
    return bool((pod.get("spec") or {}).get("nodeName")) and _unfinished(pod)


class SchedulerClient(Protocol):
    """The client calls the scheduler makes (ApiClient provides them; tests use a fake)."""

    async def list(self, kind: Any, namespace: str | None = None, **kw: Any) -> Any: ...
    def watch(self, kind: Any, namespace: str | None = None, **kw: Any) -> Any: ...
    async def bind(self, pod: Any, node_name: str) -> None: ...
    async def patch(self, kind: Any, name: str, namespace: str | None, body: Any, *,
                    patch_type: Any = ..., subresource: str | None = ..., raw: bool = ...) -> Any: ...
    async def create(self, kind: Any, obj: Any, namespace: str | None = None, *,
                     raw: bool = ...) -> Any: ...
    async def delete(self, kind: Any, name: str, namespace: str | None = None) -> Any: ...


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_update_event(old: core_v1.Node, new: core_v1.Node) -> Event:
    """Which kinds of change a node update is, so the queue wakes only interested pods."""
    event = Event.NONE
    if (old.metadata and old.metadata.labels) != (new.metadata and new.metadata.labels):
        event |= Event.NODE_LABEL
    old_spec, new_spec = old.spec or core_v1.NodeSpec(), new.spec or core_v1.NodeSpec()
    if old_spec.taints != new_spec.taints or old_spec.unschedulable != new_spec.unschedulable:
        event |= Event.NODE_TAINT
    old_st, new_st = old.status or core_v1.NodeStatus(), new.status or core_v1.NodeStatus()
    if old_st.allocatable != new_st.allocatable:
        event |= Event.NODE_ALLOCATABLE
    return event or Event.NODE_OTHER


class Scheduler:
    """Watches pending pods and nodes, and binds each pod to the best node that fits."""

    def __init__(self, client: SchedulerClient, *, name: str = DEFAULT_SCHEDULER_NAME,
                 profile: Profile | None = None, percentage_of_nodes_to_score: int = 0,
                 rng: random.Random | None = None, initial_backoff: float = 1.0,
                 max_backoff: float = 10.0, informers: InformerSource | None = None) -> None:
        """`informers` shares raw informers with other components in the process (one watch
        and one decode per kind); without it the scheduler makes and owns its own."""
        self.client = client
        self.name = name
        self.profile = profile or default_profile()
        self.algorithm = Algorithm(self.profile, percentage_of_nodes_to_score, rng)
        self.cache = SchedulerCache()
        self.queue = SchedulingQueue({n: p.EVENTS for n, p in self.profile.plugins.items()},
                                     initial_backoff=initial_backoff, max_backoff=max_backoff)
        self._owned: dict[str, Informer] = {}  # raw informers made here when none are shared
        self._source: InformerSource = informers or self._own_informer
        self.nodes = self._view("nodes")
        self.pending = self._view("pods", is_unassigned)
        self.assigned = self._view("pods", is_assigned)
        self.services = self._view("services")
        self.replica_sets = self._view("replicasets")
        self.claims = self._view("persistentvolumeclaims")
        self.volumes = self._view("persistentvolumes")
        self.storage_classes = self._view("storageclasses")
        self.pdbs = self._view("poddisruptionbudgets")
        # pods that preempted, by key: (nominated node, pod); lower or equal priority pods
        # see them on that node, so the room their victims leave stays theirs
        self.nominated: dict[str, tuple[str, core_v1.Pod]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._bindings: set[asyncio.Task[None]] = set()
        # kube-scheduler records through events.k8s.io (series), as `<profile>-<hostname>`
        self.events = EventRecorder(client, name, series=True,
                                    reporting_instance=f"{name}-{socket.gethostname()}")
        self._wire()

    def _own_informer(self, kind: str) -> Informer:
        if kind not in self._owned:
            self._owned[kind] = Informer(self.client, kind, raw=True)  # type: ignore[arg-type]
        return self._owned[kind]

    def _view(self, kind: str, select: Callable[[Any], bool] | None = None) -> InformerView:
        """Typed objects of `kind` (those `select` keeps) over the raw informer of the kind."""
        typ = resolve_kind(kind).type
        return InformerView(self._source(kind), select,
                            lambda obj: msgspec.convert(obj, typ))

    # -- informer handlers ----------------------------------------------------------------------

    def responsible_for(self, pod: core_v1.Pod) -> bool:
        spec, meta = pod.spec, pod.metadata
        return (spec is not None and not spec.node_name
                and (spec.scheduler_name or DEFAULT_SCHEDULER_NAME) == self.name
                and not spec.scheduling_gates
                and not (meta and meta.deletion_timestamp))

    def _wire(self) -> None:
        def node_added(node: core_v1.Node) -> None:
            self.cache.add_node(node)
            self.queue.move_on_event(Event.NODE_ADD)

        def node_updated(old: core_v1.Node, new: core_v1.Node) -> None:
            self.cache.update_node(new)
            self.queue.move_on_event(node_update_event(old, new))

        def node_deleted(node: core_v1.Node) -> None:
            self.cache.remove_node((node.metadata.name if node.metadata else None) or "")
            self.queue.move_on_event(Event.NODE_DELETE)

        def pending_added(pod: core_v1.Pod) -> None:
            if self.responsible_for(pod) and not self.cache.is_assumed(pod):
                self.queue.add(pod)

        def pending_updated(old: core_v1.Pod, new: core_v1.Pod) -> None:
            if self.responsible_for(new) and not self.cache.is_assumed(new):
                self.queue.update(old, new)
            else:
                self.queue.delete(new)

        def pending_deleted(pod: core_v1.Pod) -> None:
            self.nominated.pop(pod_key(pod), None)
            self.queue.delete(pod)

        def assigned_added(pod: core_v1.Pod) -> None:
            self.nominated.pop(pod_key(pod), None)
            self.cache.add_pod(pod)
            self.queue.delete(pod)
            self.queue.move_on_event(Event.POD_ADD)

        def assigned_updated(old: core_v1.Pod, new: core_v1.Pod) -> None:
            self.cache.update_pod(new)
            self.queue.move_on_event(Event.POD_UPDATE)

        def assigned_deleted(pod: core_v1.Pod) -> None:
            self.cache.remove_pod(pod)
            self.queue.move_on_event(Event.POD_DELETE)

        self.nodes.on_add(node_added)
        self.nodes.on_update(node_updated)
        self.nodes.on_delete(node_deleted)
        self.pending.on_add(pending_added)
        self.pending.on_update(pending_updated)
        self.pending.on_delete(pending_deleted)
        self.assigned.on_add(assigned_added)
        self.assigned.on_update(assigned_updated)
        self.assigned.on_delete(assigned_deleted)

        def volume_changed(*_: Any) -> None:
            self.queue.move_on_event(Event.VOLUME)

        for inf in (self.claims, self.volumes, self.storage_classes):
            inf.on_add(volume_changed)
            inf.on_update(volume_changed)
            inf.on_delete(volume_changed)

    @property
    def informers(self) -> tuple[Informer, ...]:
        return (self.nodes, self.assigned, self.pending, self.services, self.replica_sets,
                self.claims, self.volumes, self.storage_classes, self.pdbs)

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the informers, wait for nodes and pods to sync, then start scheduling."""
        for inf in self.informers:
            inf.start()
        for inf in (self.nodes, self.assigned, self.pending):
            await inf.has_synced()
        self.events.start()
        self._tasks.append(asyncio.create_task(self._loop(), name="scheduler-loop"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="scheduler-housekeeping"))

    async def stop(self) -> None:
        self.queue.close()
        for task in [*self._tasks, *self._bindings]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._bindings, return_exceptions=True)
        self._tasks.clear()
        await self.events.stop()
        for inf in self._owned.values():
            await inf.stop()

    async def _loop(self) -> None:
        while True:
            try:
                await self.schedule_one()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduling cycle failed")

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.queue.flush_backoff()
            for key in self.cache.cleanup_expired():
                log.warning("assumed pod %s expired: its binding was never observed", key)

    # -- one cycle --------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        classes = {sc.metadata.name: sc for sc in self.storage_classes.list() if sc.metadata}
        return self.cache.snapshot(services=self.services.list(),
                                   replica_sets=self.replica_sets.list(),
                                   claims=self.claims, volumes=self.volumes,
                                   storage_classes=classes)

    async def schedule_one(self) -> None:
        """Pop one pod, find it a node, assume it and start binding (not awaited)."""
        qp = await self.queue.pop()
        pod = self.pending.get(qp.key) or qp.pod
        if not self.responsible_for(pod):
            self.queue.done(qp.key)
            return
        try:
            with self._nominated_pods_held(pod):
                snapshot = self.snapshot()
                result = self.algorithm.schedule(pod, snapshot)
        except FitError as fit:
            with self._nominated_pods_held(pod):
                candidate = self.algorithm.preempt(fit, self.snapshot(), self.pdbs.list())
            self.queue.add_unschedulable(qp, fit.diagnosis.unschedulable_plugins)
            if candidate is not None:
                self.nominated[qp.key] = (candidate.node, pod)
                await self._preempt(pod, candidate)
            await self._record_failure(pod, fit.message,
                                       candidate.node if candidate is not None else None)
            return
        except Exception as e:
            log.exception("scheduling %s failed", qp.key)
            self.queue.add_backoff(qp)
            await self._record_failure(pod, str(e))
            return
        patches = self.algorithm.pre_bind(result, pod)
        assumed = self.cache.assume_pod(pod, result.node)
        self.queue.done(qp.key)
        task = asyncio.create_task(self._bind(qp, assumed, result.node, patches))
        self._bindings.add(task)
        task.add_done_callback(self._bindings.discard)

    async def _bind(self, qp: QueuedPod, pod: core_v1.Pod, node: str,
                    patches: Sequence[ApiPatch] = ()) -> None:
        """PreBind writes (e.g. a PVC's selected-node), then POST pods/NAME/binding."""
        meta = pod.metadata
        try:
            for p in patches:
                await self.client.patch(p.resource, p.name, p.namespace, p.body)
            await self.client.bind(pod, node)
        except Exception as e:
            log.info("binding %s to %s failed: %s", qp.key, node, e)
            self.cache.forget_pod(pod)
            self.queue.add_backoff(qp)
            self.queue.move_on_event(Event.POD_DELETE)  # what it held is free again
            await self._record_failure(pod, BINDING_REJECTED.format(error=e))
            return
        self.cache.finish_binding(pod)
        self._event(pod, "Normal", REASON_SCHEDULED, MESSAGE_SCHEDULED.format(
            namespace=meta.namespace if meta else "", name=meta.name if meta else "", node=node))

    @contextlib.contextmanager
    def _nominated_pods_held(self, pod: core_v1.Pod) -> Iterator[None]:
        """For one synchronous cycle, count the pods nominated with at least pod's priority
        on their nominated nodes (kube-scheduler's addNominatedPods)."""
        key, prio = pod_key(pod), preemption.priority(pod)
        held = [p for k, (node, p) in self.nominated.items()
                if k != key and preemption.priority(p) >= prio
                and not self.cache.is_assumed(p) and self.cache.nodes.get(node) is not None]
        held = [self.cache.assume_pod(p, self.nominated[pod_key(p)][0]) for p in held]
        try:
            yield
        finally:
            for p in held:
                self.cache.forget_pod(p)

    async def _preempt(self, pod: core_v1.Pod, candidate: preemption.Candidate) -> None:
        """prepareCandidate: each victim gets DisruptionTarget, an event, and is deleted."""
        uid = (pod.metadata.uid if pod.metadata else None) or ""
        for victim in candidate.victims:
            meta = victim.metadata or core_v1.ObjectMeta()
            condition = {"type": preemption.DISRUPTION_TARGET, "status": "True",
                         "reason": preemption.REASON_PREEMPTION,
                         "message": preemption.CONDITION_MESSAGE.format(scheduler=self.name),
                         "lastProbeTime": None, "lastTransitionTime": _now()}
            try:
                await self.client.patch("pods", meta.name or "", meta.namespace,
                                        {"status": {"conditions": [condition]}},
                                        patch_type="strategic", subresource="status")
                await self.client.delete("pods", meta.name or "", meta.namespace)
            except Exception as e:  # gone already, or the next cycle tries again
                log.info("preempting %s failed: %s", pod_key(victim), e)
                continue
            self.events.emit(victim, "Normal", preemption.EVENT_REASON,
                             preemption.EVENT_MESSAGE.format(uid=uid, node=candidate.node),
                             involved_kind="pods", action=preemption.EVENT_ACTION)

    async def _record_failure(self, pod: core_v1.Pod, message: str,
                              nominated_node: str | None = None) -> None:
        """FailedScheduling event and PodScheduled=False, as kube-scheduler records them;
        a pod that preempted also gets status.nominatedNodeName."""
        self._event(pod, "Warning", REASON_FAILED, message)
        meta = pod.metadata
        condition = {"type": "PodScheduled", "status": "False", "reason": REASON_UNSCHEDULABLE,
                     "message": message, "lastProbeTime": None, "lastTransitionTime": _now()}
        body: dict[str, Any] = {"conditions": [condition]}
        if nominated_node is not None:
            body["nominatedNodeName"] = nominated_node
        try:
            await self.client.patch("pods", (meta.name if meta else None) or "",
                                    meta.namespace if meta else None, {"status": body},
                                    patch_type="strategic", subresource="status")
        except Exception as e:
            log.info("updating PodScheduled of %s failed: %s", pod_key(pod), e)

    def _event(self, pod: core_v1.Pod, type_: str, reason: str, message: str) -> None:
        self.events.emit(pod, type_, reason, message, involved_kind="pods",
                         action="Scheduling" if reason == REASON_FAILED else "Binding")

    # -- for `kubelite explain-schedule` -----------------------------------------------------------

    def explain(self, pod: core_v1.Pod) -> list[NodeReport]:
        """Per node: which filter refused the pod and why, or each plugin's weighted score."""
        return self.algorithm.explain(pod, self.snapshot())
