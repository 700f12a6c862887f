"""Pod garbage collection (kube-controller-manager's podgc controller, 1.32).

Pods nobody else will ever finish are force-deleted (grace period 0), after being marked
Failed (with a DisruptionTarget condition where Kubernetes adds one), since no kubelet will
write their final status:

- orphaned: bound to a node that no longer exists. A node missing from the informer is
  quarantined first (40 s in Kubernetes, here the node monitor grace period, which defaults
  to the same 40 s) and then asked of the API server, so a pod racing its node's
  registration is not lost;
- terminating on an out-of-service node: deletionTimestamp set, on a node that is not Ready
  and carries the `node.kubernetes.io/out-of-service` taint (an admin's word that the machine
  is down for good);
- terminating and never scheduled: deletionTimestamp set and no nodeName;
- terminated over the threshold: when more than `--terminated-pod-gc-threshold` pods (12500;
  0 turns it off) are Succeeded or Failed, the oldest go, evicted ones first.

Kubernetes runs one pass every 20 s; here the same pass also runs when a node is tainted out
of service and when a pod starts terminating unscheduled or on such a node, and an orphan
check runs once a missing node's quarantine is over.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from kubelite.client import ApiError, Conflict, NotFound
from kubelite.controllers.nodelifecycle import disruption_condition, ready_status
from kubelite.controllers.podutil import Obj, is_terminating, meta, pod_phase, utcnow
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"
DEFAULT_TERMINATED_THRESHOLD = 12500
DEFAULT_QUARANTINE = 40.0
CHECK_PERIOD = 20.0
ORPHAN_REASON = "DeletionByPodGC"
ORPHAN_MESSAGE = "PodGC: node no longer exists"

PASS = "gc"  # the key of the whole pass; node keys are "node/NAME"
NODE_PREFIX = "node/"


def node_of(pod: Obj) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def is_terminated(pod: Obj) -> bool:
    """Neither Pending, Running nor Unknown (an empty phase counts as terminated, as in Go)."""
    return pod_phase(pod) not in ("Pending", "Running", "Unknown")


def is_evicted(pod: Obj) -> bool:
    """eviction.PodIsEvicted: Failed with reason Evicted."""
    status = pod.get("status") or {}
    return status.get("phase") == "Failed" and status.get("reason") == "Evicted"


def gc_order(pod: Obj) -> tuple[bool, str, str]:
    """byEvictionAndCreationTimestamp: evicted first, then oldest, then by name."""
    m = meta(pod)
    return (not is_evicted(pod), str(m.get("creationTimestamp") or ""), str(m.get("name") or ""))


def terminated_over_threshold(pods: list[Obj], threshold: int) -> list[Obj]:
    """The terminated pods to delete so that at most `threshold` remain (none if <= 0)."""
    if threshold <= 0:
        return []
    done = [p for p in pods if is_terminated(p)]
    excess = len(done) - threshold
    return sorted(done, key=gc_order)[:excess] if excess > 0 else []


def out_of_service(node: Obj | None) -> bool:
    """Not Ready and tainted node.kubernetes.io/out-of-service (any effect)."""
    if node is None or ready_status(node) == "True":
        return False
    return any(t.get("key") == OUT_OF_SERVICE for t in (node.get("spec") or {}).get("taints") or [])


def failed_status(pod: Obj, condition: Obj | None) -> Obj | None:
    """The status patch marking a not yet finished pod Failed (with `condition`), or None."""
    if pod_phase(pod) in ("Succeeded", "Failed"):
        return None
    status: Obj = {"phase": "Failed"}
    if condition is not None:
        status["conditions"] = [condition]
    return status


class PodGCController(SharedController):
    name = "pod-garbage-collector"

    def __init__(self, client: Any, shared: SharedInformers | None = None, *,
                 terminated_threshold: int = DEFAULT_TERMINATED_THRESHOLD,
                 quarantine: float = DEFAULT_QUARANTINE, check_period: float = CHECK_PERIOD) -> None:
        super().__init__(client, shared)
        self.terminated_threshold = terminated_threshold
        self.quarantine = quarantine
        self.check_period = check_period

    def setup(self) -> None:
        self.nodes = self.informer("nodes", raw=True)
        self.pods = self.informer("pods", raw=True, indexers={
            "node": lambda p: [n] if (n := node_of(p)) else []})
        self.nodes.on_delete(lambda n: self._quarantine(meta(n)["name"]))
        self.nodes.on_update(self._node_updated)
        self.pods.on_add(self._pod_changed)
        self.pods.on_update(lambda old, new: self._pod_changed(new))
        self.queue.add(PASS)

    def _quarantine(self, node: str) -> None:
        self.queue.add_after(NODE_PREFIX + node, self.quarantine)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if out_of_service(new) and not out_of_service(old):
            self.queue.add(PASS)

    def _pod_changed(self, pod: Obj) -> None:
        node = node_of(pod)
        if node and self.nodes.get(node) is None:
            self._quarantine(node)
        elif is_terminating(pod) and (not node or out_of_service(self.nodes.get(node))):
            self.queue.add(PASS)

    # -- reconcile -------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        if key.startswith(NODE_PREFIX):
            await self._collect_orphans(key[len(NODE_PREFIX):])
            return None
        await self._pass()
        return self.check_period

    async def _pass(self) -> None:
        pods = self.pods.list()
        for pod in terminated_over_threshold(pods, self.terminated_threshold):
            await self._delete(pod)
        for pod in pods:
            if not is_terminating(pod):
                continue
            node = node_of(pod)
            if not node or out_of_service(self.nodes.get(node)):
                await self._delete(pod)
        for pod in pods:
            node = node_of(pod)
            if node and self.nodes.get(node) is None:
                self._quarantine(node)

    async def _collect_orphans(self, node: str) -> None:
        """After the quarantine: if the API server too says the node is gone, its pods go."""
        pods = self.pods.by_index("node", node)
        if not pods or self.nodes.get(node) is not None:
            return
        try:
            await self.client.get("nodes", node, raw=True)
            return
        except NotFound:
            pass
        now = utcnow()
        failed = False
        for pod in pods:
            log.info("found orphaned pod %s/%s assigned to the node %s, deleting",
                     meta(pod).get("namespace"), meta(pod)["name"], node)
            failed |= not await self._delete(pod, _orphan_condition(pod, now))
        if failed:  # Kubernetes retries on its next pass
            self.queue.add_after(NODE_PREFIX + node, self.check_period)

    async def _delete(self, pod: Obj, condition: Obj | None = None) -> bool:
        """markFailedAndDeletePodWithCondition: phase Failed first, then a force delete.
        False if the API server refused (retried later)."""
        m = meta(pod)
        name, namespace, uid = m["name"], m.get("namespace"), m.get("uid", "")
        log.info("PodGC is force deleting Pod %s/%s", namespace, name)
        try:
            status = failed_status(pod, condition)
            if status is not None:
                await self.client.patch("pods", name, namespace,
                                        {"metadata": {"uid": uid}, "status": status},
                                        patch_type="strategic", subresource="status", raw=True)
            await self.client.delete("pods", name, namespace, grace_period=0,
                                     preconditions={"uid": uid})
        except (NotFound, Conflict):
            return True  # gone already, or another pod of that name now
        except ApiError as e:
            log.warning("pod GC: deleting %s/%s: %s", namespace, name, e)
            return False
        return True


def _orphan_condition(pod: Obj, now: dt.datetime) -> Obj | None:
    return disruption_condition(pod, now, reason=ORPHAN_REASON, message=ORPHAN_MESSAGE)
