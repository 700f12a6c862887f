"""Disruption controller: keeps each PodDisruptionBudget's status (policy/v1) current.

For the pods a budget selects it counts the healthy ones (Ready, not being deleted, not just
evicted), works out how many must stay healthy (minAvailable, or the controllers' replica
count minus maxUnavailable), and publishes disruptionsAllowed. The eviction subresource in
the API server reads that number and records each eviction in status.disruptedPods; entries
leave when the pod is gone or after two minutes.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from kubelite.client import ApiError, NotFound, resolve_kind
from kubelite.controllers.podutil import (
    Obj,
    controller_ref,
    int_or_percent,
    is_ready,
    is_terminating,
    key_of,
    labels_of,
    meta,
    parse_time,
    rfc3339,
    selector_of,
    uid_of,
    utcnow,
)
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS = "SufficientPods"
INSUFFICIENT_PODS = "InsufficientPods"
SYNC_FAILED = "SyncFailed"
DELETION_TIMEOUT = dt.timedelta(minutes=2)


def healthy_count(pods: list[Obj], disrupted: dict[str, str], now: dt.datetime) -> int:
    """Ready pods not being deleted and not evicted within the last two minutes."""
    count = 0
    for pod in pods:
        if is_terminating(pod) or not is_ready(pod):
            continue
        when = parse_time(disrupted.get(meta(pod).get("name", "")))
        if when is not None and when + DELETION_TIMEOUT > now:
            continue
        count += 1
    return count


def live_disrupted(disrupted: dict[str, str], pods: list[Obj], now: dt.datetime) -> dict[str, str]:
    """disruptedPods without the pods that are gone or being deleted, or that expired."""
    alive = {meta(p).get("name"): p for p in pods if not is_terminating(p)}
    out = {}
    for name, stamp in disrupted.items():
        when = parse_time(stamp)
        if name in alive and when is not None and when + DELETION_TIMEOUT > now:
            out[name] = stamp
    return out


def budget_numbers(pdb: Obj, pod_count: int, scale: int | None) -> tuple[int, int]:
    """(expectedPods, desiredHealthy); `scale` is the controllers' replica total (needed for
    maxUnavailable and percentages; None when unknown)."""
    spec = pdb.get("spec") or {}
    max_unavailable = spec.get("maxUnavailable")
    min_available = spec.get("minAvailable")
    if max_unavailable is not None:
        expected = scale if scale is not None else pod_count
        return expected, max(0, expected - int_or_percent(max_unavailable, expected, round_up=True))
    if isinstance(min_available, int):
        return pod_count, min_available
    if min_available is not None:
        expected = scale if scale is not None else pod_count
        return expected, int_or_percent(min_available, expected, round_up=True)
    return pod_count, 0


class DisruptionController(SharedController):
    """The kube-controller-manager "disruption" controller."""

    name = "disruption"
    workers = 2

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)

    def setup(self) -> None:
        ns_index = {"namespace": lambda o: [meta(o).get("namespace", "")]}
        self.budgets = self.informer("poddisruptionbudgets", raw=True, indexers=dict(ns_index))
        self.pods = self.informer("pods", raw=True, indexers=dict(ns_index))
        self.sets = self.informer("replicasets", raw=True, indexers={"uid": lambda o: [uid_of(o)]})
        self.deployments = self.informer("deployments", raw=True, indexers={"uid": lambda o: [uid_of(o)]})
        self.budgets.on_add(lambda o: self.queue.add(key_of(o)))
        self.budgets.on_update(lambda old, new: self.queue.add(key_of(new)))
        self.pods.on_add(self._pod_changed)
        self.pods.on_update(self._pod_updated)
        self.pods.on_delete(self._pod_changed)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        self._pod_changed(old)
        self._pod_changed(new)

    def _pod_changed(self, pod: Obj) -> None:
        labels = labels_of(pod)
        for pdb in self.budgets.by_index("namespace", meta(pod).get("namespace", "")):
            if selector_of(pdb).matches(labels):
                self.queue.add(key_of(pdb))

    def selected_pods(self, pdb: Obj) -> list[Obj]:
        selector = selector_of(pdb)
        return [p for p in self.pods.by_index("namespace", meta(pdb).get("namespace", ""))
                if selector.matches(labels_of(p))]

    async def controllers_scale(self, pods: list[Obj]) -> int | None:
        """Sum of spec.replicas over the pods' controllers (a Deployment stands for its
        ReplicaSets); None when a pod has no controller."""
        seen: dict[str, int] = {}
        for pod in pods:
            ref = controller_ref(pod)
            if ref is None:
                return None
            uid = str(ref.get("uid"))
            if uid in seen:
                continue
            if ref.get("kind") == "ReplicaSet":
                found = self.sets.by_index("uid", uid)
                if found:
                    rs = found[0]
                    owner = controller_ref(rs)
                    deps = self.deployments.by_index("uid", str(owner.get("uid"))) if owner and owner.get("kind") == "Deployment" else []
                    if deps:
                        seen[uid_of(deps[0])] = int((deps[0].get("spec") or {}).get("replicas", 1))
                        seen[uid] = 0
                    else:
                        seen[uid] = int((rs.get("spec") or {}).get("replicas", 1))
                    continue
            try:
                owner_obj = await self.client.get(resolve_kind(str(ref.get("kind"))), str(ref.get("name")),
                                                  meta(pod).get("namespace"), raw=True)
                seen[uid] = int((owner_obj.get("spec") or {}).get("replicas", 1))
            except (KeyError, ApiError):
                return None
        return sum(seen.values())

    async def reconcile(self, key: str) -> float | None:
        pdb = self.budgets.get(key)
        if pdb is None:
            return None
        now = utcnow()
        pods = self.selected_pods(pdb)
        current = dict(pdb.get("status") or {})
        disrupted = live_disrupted(dict(current.get("disruptedPods") or {}), pods, now)
        healthy = healthy_count(pods, disrupted, now)
        scale = await self.controllers_scale(pods) if pods else 0
        spec = pdb.get("spec") or {}
        needs_scale = spec.get("maxUnavailable") is not None or isinstance(spec.get("minAvailable"), str)
        failed = needs_scale and scale is None
        expected, desired = budget_numbers(pdb, len(pods), scale)
        allowed = 0 if failed else max(0, healthy - desired)
        if failed:
            cond = ("False", SYNC_FAILED, "found no controllers for some selected pods")
        elif allowed > 0:
            cond = ("True", SUFFICIENT_PODS, "")
        else:
            cond = ("False", INSUFFICIENT_PODS, "")
        old_cond = next((c for c in current.get("conditions") or [] if c.get("type") == DISRUPTION_ALLOWED), None)
        transition = old_cond.get("lastTransitionTime") if old_cond and old_cond.get("status") == cond[0] else rfc3339(now)
        observed = meta(pdb).get("generation") or 1
        status: Obj = {
            "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
            "disruptionsAllowed": allowed, "observedGeneration": observed,
            "disruptedPods": disrupted or None,
            "conditions": [{"type": DISRUPTION_ALLOWED, "status": cond[0], "reason": cond[1],
                            "message": cond[2], "observedGeneration": observed,
                            "lastTransitionTime": transition}],
        }
        if all(current.get(k) == v for k, v in status.items() if v is not None) and \
                not (current.get("disruptedPods") and not disrupted):
            return self._expiry(disrupted, now)
        m = meta(pdb)
        try:
            await self.client.patch("poddisruptionbudgets", m["name"], m.get("namespace"),
                                    {"status": status}, subresource="status", raw=True)
        except NotFound:
            return None
        return self._expiry(disrupted, now)

    @staticmethod
    def _expiry(disrupted: dict[str, str], now: dt.datetime) -> float | None:
        """Seconds until the oldest disruptedPods entry expires (then the count changes)."""
        times = [t for t in (parse_time(s) for s in disrupted.values()) if t is not None]
        if not times:
            return None
        return max(0.5, (min(times) + DELETION_TIMEOUT - now).total_seconds() + 0.5)
