"""Node lifecycle: notices lost nodes, taints them, and evicts their pods when tolerations run out.

A node's kubelet proves it is alive by renewing its Lease (kube-node-lease) and posting
status. When neither has been seen for `grace_period` seconds (Kubernetes'
--node-monitor-grace-period, 40 s), the node's conditions become Unknown ("Kubelet stopped
posting node status."), its pods are marked not ready, and it gets the
`node.kubernetes.io/unreachable` NoExecute and NoSchedule taints (`not-ready` when the kubelet
itself says Ready=False). Pods on a node with NoExecute taints are deleted once their matching
tolerations' tolerationSeconds have passed (300 s by default, added at admission), or at once
if they tolerate none, as the taint-eviction controller does; each such pod first gets the
DisruptionTarget condition saying why it goes. Pods bound to a node that no longer exists are
pod GC's (controllers/podgc.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from kubelite.client import ApiError, Conflict, NotFound
from kubelite.controllers.podutil import (
    Obj,
    is_terminating,
    meta,
    parse_time,
    pod_phase,
    rfc3339,
    utcnow,
)
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
LIFECYCLE_TAINT_KEYS = (UNREACHABLE, NOT_READY)
LEASE_NAMESPACE = "kube-node-lease"
NODE_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
STATUS_UNKNOWN_REASON = "NodeStatusUnknown"
STATUS_UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
EVICTION_REASON = "TaintManagerEviction"
# The pod condition the taint-eviction controller adds before deleting (addConditionAndDeletePod).
DISRUPTION_TARGET = "DisruptionTarget"
DISRUPTION_REASON = "DeletionByTaintManager"
DISRUPTION_MESSAGE = "Taint manager: deleting due to NoExecute taint"
NODE_NOT_READY_REASON = "NodeNotReady"

DEFAULT_GRACE_PERIOD = 40.0
DEFAULT_MONITOR_PERIOD = 5.0


def ready_status(node: Obj) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status") or "Unknown")
    return "Unknown"


def lifecycle_taints(ready: str, existing: list[Obj], now: dt.datetime) -> list[Obj]:
    """The node's taints with the unreachable/not-ready pair matching its Ready status;
    taints that stay keep their timeAdded."""
    wanted_key = {"False": NOT_READY, "Unknown": UNREACHABLE}.get(ready)
    others = [t for t in existing if t.get("key") not in LIFECYCLE_TAINT_KEYS]
    if wanted_key is None:
        return others
    kept = [t for t in existing if t.get("key") == wanted_key]
    out = others + kept
    for effect in ("NoSchedule", "NoExecute"):
        if not any(t.get("effect") == effect for t in kept):
            taint: Obj = {"key": wanted_key, "effect": effect}
            if effect == "NoExecute":
                taint["timeAdded"] = rfc3339(now)
            out.append(taint)
    return out


def tolerates(toleration: Obj, taint: Obj) -> bool:
    """v1.Toleration.ToleratesTaint."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def eviction_time(pod: Obj, taints: list[Obj], cap: float | None = None,
                  now: dt.datetime | None = None) -> dt.datetime | None:
    """When a pod on a node with these taints must be deleted; None if it may stay.

    A NoExecute taint nothing tolerates evicts at once; otherwise the shortest
    tolerationSeconds of the tolerations in use counts from the taint's timeAdded (`now` for
    a taint without one, as `kubectl taint` writes them). `cap` (a test setting) bounds that
    wait.
    """
    now = now or utcnow()
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    due: dt.datetime | None = None
    for taint in taints:
        if taint.get("effect") != "NoExecute":
            continue
        added = parse_time(taint.get("timeAdded")) or now
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return added
        limits = [float(t["tolerationSeconds"]) for t in matching
                  if t.get("tolerationSeconds") is not None]
        if cap is not None:
            limits.append(cap)
        if not limits:
            continue
        when = added + dt.timedelta(seconds=max(0.0, min(limits)))
        due = when if due is None or when < due else due
    return due


def disruption_condition(pod: Obj, now: dt.datetime, reason: str = DISRUPTION_REASON,
                         message: str = DISRUPTION_MESSAGE) -> Obj | None:
    """The DisruptionTarget condition to add before a taint eviction (or another forced
    delete, with its own reason), or None if the pod has it already
    (apipod.UpdatePodCondition: the transition time moves with the status)."""
    wanted: Obj = {"type": DISRUPTION_TARGET, "status": "True", "reason": reason,
                   "message": message, "lastTransitionTime": rfc3339(now)}
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") != DISRUPTION_TARGET:
            continue
        if cond.get("status") == "True":
            if cond.get("reason") == reason and cond.get("message") == message:
                return None
            wanted["lastTransitionTime"] = cond.get("lastTransitionTime") or wanted["lastTransitionTime"]
    return wanted


def unknown_conditions(node: Obj, now: dt.datetime) -> list[Obj]:
    """The node's conditions after its kubelet went silent: every one Unknown."""
    stamp = rfc3339(now)
    out = []
    seen = set()
    for cond in (node.get("status") or {}).get("conditions") or []:
        cond = dict(cond)
        seen.add(cond.get("type"))
        if cond.get("type") in NODE_CONDITIONS and cond.get("status") != "Unknown":
            cond.update(status="Unknown", reason=STATUS_UNKNOWN_REASON,
                        message=STATUS_UNKNOWN_MESSAGE, lastTransitionTime=stamp)
        out.append(cond)
    for type_ in NODE_CONDITIONS:
        if type_ not in seen:
            out.append({"type": type_, "status": "Unknown", "reason": STATUS_UNKNOWN_REASON,
                        "message": STATUS_UNKNOWN_MESSAGE, "lastHeartbeatTime": stamp,
                        "lastTransitionTime": stamp})
    return out


class NodeLifecycleController(SharedController):
    """The kube-controller-manager node-lifecycle and taint-eviction controllers, together."""

    name = "node-lifecycle"
    workers = 2

    def __init__(self, client: Any, grace_period: float = DEFAULT_GRACE_PERIOD,
                 monitor_period: float = DEFAULT_MONITOR_PERIOD,
                 eviction_cap: float | None = None,
                 shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)
        self.grace_period = grace_period
        self.monitor_period = monitor_period
        self.eviction_cap = eviction_cap
        self._heard: dict[str, float] = {}  # node -> monotonic time its kubelet was last heard

    def setup(self) -> None:
        self.nodes = self.informer("nodes", raw=True)
        self.leases = self.informer("leases", namespace=LEASE_NAMESPACE, raw=True)
        self.pods = self.informer("pods", raw=True, indexers={
            "node": lambda p: [n] if (n := (p.get("spec") or {}).get("nodeName")) else []})
        self.nodes.on_add(self._node_seen)
        self.nodes.on_update(self._node_updated)
        self.nodes.on_delete(lambda n: self._heard.pop(meta(n)["name"], None))
        self.leases.on_add(self._lease_renewed)
        self.leases.on_update(self._lease_updated)
        self.pods.on_add(self._pod_changed)
        self.pods.on_update(lambda old, new: self._pod_changed(new)
                            if (old.get("spec") or {}).get("nodeName") != (new.get("spec") or {}).get("nodeName")
                            else None)

    # -- heartbeats ------------------------------------------------------------------------

    def _heard_from(self, name: str) -> None:
        """Note a heartbeat. A healthy node needs no reconcile for it: its next check is already
        queued for when its grace period would run out, and then counts from this heartbeat."""
        self._heard[name] = time.monotonic()
        node = self.nodes.get(name)
        if node is None or ready_status(node) != "True" or (node.get("spec") or {}).get("taints"):
            self.queue.add(name)

    def _node_seen(self, node: Obj) -> None:
        name = meta(node)["name"]
        self._heard[name] = time.monotonic()  # a new node (or a restart) gets a full grace period
        self.queue.add(name)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if _heartbeat(old) != _heartbeat(new) and ready_status(new) != "Unknown":
            self._heard_from(meta(new)["name"])
        else:
            self.queue.add(meta(new)["name"])

    def _lease_renewed(self, lease: Obj) -> None:
        self._heard_from(meta(lease)["name"])

    def _lease_updated(self, old: Obj, new: Obj) -> None:
        if (old.get("spec") or {}).get("renewTime") != (new.get("spec") or {}).get("renewTime"):
            self._heard_from(meta(new)["name"])

    def _pod_changed(self, pod: Obj) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        if node and _has_no_execute(self.nodes.get(node)):
            self.queue.add(node)

    # -- reconcile -------------------------------------------------------------------------

    async def reconcile(self, name: str) -> float | None:
        node = self.nodes.get(name)
        if node is None:
            self._heard.pop(name, None)
            return None
        now = utcnow()
        silent = time.monotonic() - self._heard.setdefault(name, time.monotonic())
        ready = ready_status(node)
        if silent > self.grace_period and ready != "Unknown":
            node = await self._mark_unknown(node, now)
            ready = "Unknown"
        taints = list((node.get("spec") or {}).get("taints") or [])
        wanted = lifecycle_taints(ready, taints, now)
        if wanted != taints:
            node = await self._set_taints(node, wanted)
            taints = wanted
        # A Ready node is looked at again when its grace period would run out (or on news of
        # it); a NotReady one every monitor period; an Unknown one only on news.
        next_check = self.monitor_period if ready == "False" else None
        if silent <= self.grace_period:
            left = self.grace_period - silent + 0.05
            next_check = min(next_check or left, left)
        evict_at = await self._evict(node, taints, now)
        if evict_at is not None:
            wait = max(0.05, (evict_at - now).total_seconds())
            next_check = min(next_check or wait, wait)
        return next_check

    async def _mark_unknown(self, node: Obj, now: dt.datetime) -> Obj:
        name = meta(node)["name"]
        log.info("node %s: %s", name, STATUS_UNKNOWN_MESSAGE)
        updated: Obj = await self.client.patch(
            "nodes", name, None, {"status": {"conditions": unknown_conditions(node, now)}},
            subresource="status", raw=True)
        await self._event(node, NODE_NOT_READY_REASON, f"Node {name} status is now: NodeNotReady", "Node")
        for pod in self.pods.by_index("node", name):
            await self._mark_pod_not_ready(pod, now)
        return updated

    async def _mark_pod_not_ready(self, pod: Obj, now: dt.datetime) -> None:
        conditions = [dict(c) for c in (pod.get("status") or {}).get("conditions") or []]
        changed = False
        for cond in conditions:
            if cond.get("type") == "Ready" and cond.get("status") != "False":
                cond.update(status="False", lastTransitionTime=rfc3339(now))
                changed = True
        if not changed:
            return
        m = meta(pod)
        try:
            await self.client.patch("pods", m["name"], m.get("namespace"),
                                    {"status": {"conditions": conditions}}, subresource="status", raw=True)
        except ApiError as e:
            log.debug("marking %s/%s not ready: %s", m.get("namespace"), m["name"], e)

    async def _set_taints(self, node: Obj, taints: list[Obj]) -> Obj:
        m = meta(node)
        updated: Obj = await self.client.patch(
            "nodes", m["name"], None,
            {"metadata": {"resourceVersion": m.get("resourceVersion")}, "spec": {"taints": taints or None}},
            raw=True)
        return updated

    async def _evict(self, node: Obj, taints: list[Obj], now: dt.datetime) -> dt.datetime | None:
        """Delete the node's pods whose tolerations ran out; return the next eviction time."""
        if not any(t.get("effect") == "NoExecute" for t in taints):
            return None
        upcoming: dt.datetime | None = None
        for pod in self.pods.by_index("node", meta(node)["name"]):
            if is_terminating(pod) or pod_phase(pod) in ("Succeeded", "Failed"):
                continue
            due = eviction_time(pod, taints, self.eviction_cap, now)
            if due is None:
                continue
            if due <= now:
                await self._delete_pod(pod, node, now)
            elif upcoming is None or due < upcoming:
                upcoming = due
        return upcoming

    async def _delete_pod(self, pod: Obj, node: Obj, now: dt.datetime) -> None:
        """Mark the pod a DisruptionTarget, then delete it (addConditionAndDeletePod)."""
        m = meta(pod)
        log.info("node %s: evicting pod %s/%s", meta(node)["name"], m.get("namespace"), m["name"])
        try:
            cond = disruption_condition(pod, now)
            if cond is not None:
                await self.client.patch("pods", m["name"], m.get("namespace"),
                                        {"metadata": {"uid": m.get("uid")},
                                         "status": {"conditions": [cond]}},
                                        patch_type="strategic", subresource="status", raw=True)
            await self.client.delete("pods", m["name"], m.get("namespace"),
                                     preconditions={"uid": m.get("uid", "")})
        except (NotFound, Conflict):
            return
        await self._event(pod, EVICTION_REASON, f"Marking for deletion Pod {m.get('namespace')}/{m['name']}", "Pod")

    async def _event(self, obj: Obj, reason: str, message: str, kind: str) -> None:
        try:
            await self.client.create_event(obj, reason, message, component="node-controller",
                                           involved_kind=kind, raw=True)
        except ApiError as e:
            log.debug("event %s not recorded: %s", reason, e)


def _heartbeat(node: Obj) -> str:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("lastHeartbeatTime") or "")
    return ""


def _has_no_execute(node: Obj | None) -> bool:
    return node is not None and any(
        t.get("effect") == "NoExecute" for t in (node.get("spec") or {}).get("taints") or [])
