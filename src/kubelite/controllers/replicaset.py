"""ReplicaSet controller: keeps spec.replicas pods matching the selector alive.

Pods are created from the template with a controller ownerReference; orphans that match the
selector are adopted and owned pods that stop matching are released. Creations go out in
slow-start batches (1, 2, 4...) of at most `BURST_REPLICAS` per sync, and `Expectations` keep
a slow watch from making the controller count (and create) twice. Scaling down deletes the
pods that matter least first (`podutil.deletion_cost_order`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from kubelite.client import ApiError, Conflict, NotFound
from kubelite.controllers.expectations import Expectations
from kubelite.controllers.podutil import (
    Obj,
    controller_ref,
    deletion_cost_order,
    is_active,
    is_available,
    is_ready,
    is_terminating,
    key_of,
    labels_of,
    meta,
    owner_reference,
    ready_since,
    selector_of,
    uid_of,
    utcnow,
)
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

KIND = "ReplicaSet"
API_VERSION = "apps/v1"
BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH = 1

# Event reasons and messages, as kube-controller-manager words them.
SUCCESSFUL_CREATE = "SuccessfulCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
FAILED_CREATE = "FailedCreate"
REPLICA_FAILURE = "ReplicaFailure"


def pod_from_template(rs: Obj, api_version: str = API_VERSION, kind: str = KIND) -> Obj:
    """A new pod of the ReplicaSet (controller.GetPodFromTemplate), named by generateName."""
    template = (rs.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    m = meta(rs)
    pod_meta: Obj = {"generateName": f"{m['name']}-", "namespace": m.get("namespace"),
                     "ownerReferences": [owner_reference(rs, api_version, kind)]}
    for field in ("labels", "annotations", "finalizers"):
        if tmeta.get(field):
            pod_meta[field] = tmeta[field]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": dict(template.get("spec") or {})}


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> list[int]:
    """Batch sizes 1, 2, 4... adding up to count (a failing batch stops the rest)."""
    sizes = []
    size = initial
    while count > 0:
        take = min(size, count)
        sizes.append(take)
        count -= take
        size *= 2
    return sizes


def fully_labeled(pod: Obj, template_labels: dict[str, str]) -> bool:
    labels = labels_of(pod)
    return all(labels.get(k) == v for k, v in template_labels.items())


def calculate_status(rs: Obj, active: list[Obj], now: dt.datetime,
                     failure: str | None = None) -> Obj:
    """The ReplicaSet's status for its active pods (replicas and the counts beside it)."""
    spec = rs.get("spec") or {}
    template_labels = dict(((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})
    min_ready = int(spec.get("minReadySeconds") or 0)
    status: Obj = {
        "replicas": len(active),
        "fullyLabeledReplicas": sum(1 for p in active if fully_labeled(p, template_labels)),
        "readyReplicas": sum(1 for p in active if is_ready(p)),
        "availableReplicas": sum(1 for p in active if is_available(p, min_ready, now)),
        "observedGeneration": meta(rs).get("generation") or 1,
    }
    old_conditions = [c for c in (rs.get("status") or {}).get("conditions") or []
                      if c.get("type") != REPLICA_FAILURE]
    if failure:
        old_conditions.append({"type": REPLICA_FAILURE, "status": "True", "reason": FAILED_CREATE,
                               "message": failure,
                               "lastTransitionTime": now.strftime("%Y-%m-%dT%H:%M:%SZ")})
    status["conditions"] = old_conditions
    return status


def status_patch(current: Obj, wanted: Obj) -> Obj | None:
    """A merge patch turning `current` status into `wanted` (zeros and empty lists omitted, as
    Kubernetes' omitempty does), or None when nothing changes."""
    normalized = {k: v for k, v in wanted.items() if v or k == "replicas"}
    now_status = {k: v for k, v in current.items() if v or k == "replicas"}
    now_status.setdefault("replicas", 0)
    if normalized == now_status:
        return None
    patch: Obj = {k: (v if v or k == "replicas" else None) for k, v in wanted.items()}
    for k in now_status:
        patch.setdefault(k, None)
    return patch


def next_availability_check(rs: Obj, active: list[Obj], now: dt.datetime) -> float | None:
    """Seconds until a ready pod passes minReadySeconds (then availableReplicas changes)."""
    min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
    if min_ready <= 0:
        return None
    waits = []
    for pod in active:
        since = ready_since(pod)
        if since is None:
            continue
        left = (since + dt.timedelta(seconds=min_ready) - now).total_seconds()
        if left > 0:
            waits.append(left)
    return min(waits) + 0.05 if waits else None


class ReplicaSetController(SharedController):
    """The kube-controller-manager "replicaset" controller."""

    name = "replicaset"
    workers = 4
    owner_kind = KIND
    # The ReplicationController controller is this one over another resource (Kubernetes
    # wraps RCs as ReplicaSets): what differs is named here.
    resource = "replicasets"
    owner_api_version = API_VERSION

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)
        self.expectations = Expectations()

    def setup(self) -> None:
        self.sets = self.informer(self.resource, raw=True, indexers={
            "uid": lambda o: [uid_of(o)],
            "namespace": lambda o: [meta(o).get("namespace", "")]})
        self.pods = self.informer("pods", raw=True, indexers={
            "controller": _controller_uid,
            "orphans": lambda o: [] if controller_ref(o) else [meta(o).get("namespace", "")]})
        self.sets.on_add(lambda o: self.queue.add(key_of(o)))
        self.sets.on_update(lambda old, new: self.queue.add(key_of(new)))
        self.sets.on_delete(self._set_deleted)
        self.pods.on_add(self._pod_added)
        self.pods.on_update(self._pod_updated)
        self.pods.on_delete(self._pod_deleted)

    # -- event handlers ------------------------------------------------------------------

    def _owner_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != self.owner_kind:
            return None
        owners = self.sets.by_index("uid", str(ref.get("uid")))
        return key_of(owners[0]) if owners else None

    def _enqueue_matching(self, pod: Obj) -> None:
        labels = labels_of(pod)
        for rs in self.sets.by_index("namespace", meta(pod).get("namespace", "")):
            if selector_of(rs).matches(labels):
                self.queue.add(key_of(rs))

    def _set_deleted(self, rs: Obj) -> None:
        self.expectations.forget(key_of(rs))
        self.queue.add(key_of(rs))

    def _pod_added(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            if is_terminating(pod):
                self.expectations.deletion_observed(key, uid_of(pod))
            else:
                self.expectations.creation_observed(key)
            self.queue.add(key)
        elif controller_ref(pod) is None:
            self._enqueue_matching(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = self._owner_key(new)
        if key is not None and is_terminating(new) and not is_terminating(old):
            self.expectations.deletion_observed(key, uid_of(new))
        old_key = self._owner_key(old)
        if old_key is not None and old_key != key:
            self.queue.add(old_key)
        if key is not None:
            self.queue.add(key)
        elif controller_ref(new) is None:
            self._enqueue_matching(new)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, uid_of(pod))
            self.queue.add(key)

    # -- reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        rs = self.sets.get(key)
        if rs is None:
            self.expectations.forget(key)
            return None
        can_manage = self.expectations.satisfied(key) and not is_terminating(rs)
        pods = await self.claim_pods(rs)
        active = [p for p in pods if is_active(p)]
        failure = None
        if can_manage:
            failure = await self.manage_replicas(rs, active)
        now = utcnow()
        wanted = calculate_status(rs, active, now, failure)
        patch = status_patch(dict(rs.get("status") or {}), wanted)
        if patch is not None:
            ns, name = key.split("/", 1)
            try:
                await self.client.patch(self.resource, name, ns, {"status": patch},
                                        subresource="status", raw=True)
            except NotFound:
                return None
        return next_availability_check(rs, active, now)

    async def claim_pods(self, rs: Obj) -> list[Obj]:
        """Owned pods, after adopting matching orphans and releasing owned pods that stopped
        matching (controller.PodControllerRefManager.ClaimPods)."""
        selector = selector_of(rs)
        uid = uid_of(rs)
        owned = []
        for pod in self.pods.by_index("controller", uid):
            if selector.matches(labels_of(pod)):
                owned.append(pod)
            elif not is_terminating(pod):
                await self._release(rs, pod)
        if is_terminating(rs):
            return owned
        ns = meta(rs).get("namespace", "")
        for pod in self.pods.by_index("orphans", ns):
            if not is_terminating(pod) and selector.matches(labels_of(pod)):
                adopted = await self._adopt(rs, pod)
                if adopted is not None:
                    owned.append(adopted)
        return owned

    async def _adopt(self, rs: Obj, pod: Obj) -> Obj | None:
        m = meta(pod)
        refs = list(m.get("ownerReferences") or []) + [owner_reference(rs, self.owner_api_version, self.owner_kind)]
        try:
            result: Obj = await self.client.patch(
                "pods", m["name"], m.get("namespace"),
                {"metadata": {"ownerReferences": refs, "uid": m.get("uid"),
                              "resourceVersion": m.get("resourceVersion")}}, raw=True)
            return result
        except (Conflict, NotFound):
            return None  # changed meanwhile: the next sync sees it again

    async def _release(self, rs: Obj, pod: Obj) -> None:
        m = meta(pod)
        refs = [r for r in m.get("ownerReferences") or [] if r.get("uid") != uid_of(rs)]
        try:
            await self.client.patch(
                "pods", m["name"], m.get("namespace"),
                {"metadata": {"ownerReferences": refs or None, "uid": m.get("uid"),
                              "resourceVersion": m.get("resourceVersion")}}, raw=True)
        except (Conflict, NotFound):
            pass

    async def manage_replicas(self, rs: Obj, active: list[Obj]) -> str | None:
        """Create or delete pods so that len(active) == spec.replicas; returns a create error."""
        key = key_of(rs)
        wanted = int((rs.get("spec") or {}).get("replicas", 1) or 0)
        diff = len(active) - wanted
        if diff < 0:
            return await self._create_pods(rs, key, min(-diff, BURST_REPLICAS))
        if diff > 0:
            victims = sorted(active, key=deletion_cost_order)[:min(diff, BURST_REPLICAS)]
            self.expectations.expect_deletions(key, {uid_of(p) for p in victims})
            await asyncio.gather(*(self._delete_pod(rs, key, p) for p in victims))
        return None

    async def _create_pods(self, rs: Obj, key: str, count: int) -> str | None:
        self.expectations.expect_creations(key, count)
        created = 0
        for size in slow_start_batches(count):
            results = await asyncio.gather(*(self._create_pod(rs) for _ in range(size)),
                                           return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            created += size - len(errors)
            if errors:
                self.expectations.creation_failed(key, count - created)
                message = str(errors[0])
                await self._event(rs, FAILED_CREATE, f"Error creating: {message}", "Warning")
                return message
        return None

    async def _create_pod(self, rs: Obj) -> None:
        pod = await self.client.create(
            "pods", pod_from_template(rs, self.owner_api_version, self.owner_kind),
            meta(rs).get("namespace"), raw=True)
        await self._event(rs, SUCCESSFUL_CREATE, f"Created pod: {meta(pod).get('name')}")

    async def _delete_pod(self, rs: Obj, key: str, pod: Obj) -> None:
        m = meta(pod)
        try:
            await self.client.delete("pods", m["name"], m.get("namespace"),
                                     preconditions={"uid": m.get("uid", "")})
        except NotFound:
            self.expectations.deletion_observed(key, uid_of(pod))
            return
        except ApiError:
            self.expectations.deletion_observed(key, uid_of(pod))
            raise
        await self._event(rs, SUCCESSFUL_DELETE, f"Deleted pod: {m['name']}")

    async def _event(self, rs: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        try:
            await self.client.create_event(rs, reason, message, type=type_,
                                           component=f"{self.name}-controller",
                                           involved_kind=self.owner_kind, raw=True)
        except ApiError as e:
            log.debug("event %s for %s not recorded: %s", reason, key_of(rs), e)


def _controller_uid(pod: Obj) -> list[str]:
    ref = controller_ref(pod)
    return [str(ref.get("uid"))] if ref else []
