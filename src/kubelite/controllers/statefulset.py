"""StatefulSet controller (pkg/controller/statefulset): pods with stable names `SET-0..N-1`,
each with its own claims, created in order and removed in reverse (OrderedReady) or all at
once (Parallel), and replaced in reverse ordinal order down to the partition on a template
change (RollingUpdate) or only when the user deletes them (OnDelete).

One sync does one step of an ordered rollout and returns; the pod events that follow wake
it for the next step. The pure parts live in `statefulset_identity.py` (names, labels,
claims, retention) and `statefulset_history.py` (ControllerRevisions).
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.client import AlreadyExists, ApiError, Conflict, NotFound
from kubelite.controllers import statefulset_history as history
from kubelite.controllers.podutil import (
    Obj,
    controller_ref,
    is_available,
    is_ready,
    is_terminating,
    key_of,
    labels_of,
    meta,
    owner_reference,
    pod_phase,
    selector_of,
    uid_of,
    utcnow,
)
from kubelite.controllers.shared import SharedController, SharedInformers
from kubelite.controllers.statefulset_identity import (
    API_VERSION,
    KIND,
    claim_owner_refs,
    claims_for,
    is_member,
    missing_identity_labels,
    new_pod,
    ordinal_of,
    replicas,
    revision_of,
    spec,
    start_ordinal,
)

log = logging.getLogger(__name__)

# Event reasons, as kube-controller-manager's stateful_pod_control.go words them.
SUCCESSFUL_CREATE = "SuccessfulCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
FAILED_CREATE = "FailedCreate"
WAIT = object()  # a step was taken or is awaited: the rest of the sync waits for its events


def _controller_uid(obj: Obj) -> list[str]:
    ref = controller_ref(obj)
    return [str(ref.get("uid"))] if ref else []


class StatefulSetController(SharedController):
    """The kube-controller-manager "statefulset" controller."""

    name = "statefulset"
    workers = 2

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)

    def setup(self) -> None:
        self.sets = self.informer("statefulsets", raw=True, indexers={
            "uid": lambda o: [uid_of(o)],
            "namespace": lambda o: [meta(o).get("namespace", "")]})
        self.pods = self.informer("pods", raw=True, indexers={"controller": _controller_uid})
        self.revisions = self.informer("controllerrevisions", raw=True,
                                       indexers={"controller": _controller_uid})
        self.claims = self.informer("persistentvolumeclaims", raw=True)
        self.sets.on_add(lambda o: self.queue.add(key_of(o)))
        self.sets.on_update(lambda old, new: self.queue.add(key_of(new)))
        self.sets.on_delete(lambda o: self.queue.add(key_of(o)))
        self.pods.on_add(self._pod_changed)
        self.pods.on_update(lambda old, new: self._pod_changed(new))
        self.pods.on_delete(self._pod_changed)

    def _pod_changed(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref is not None and ref.get("kind") == KIND:
            for sts in self.sets.by_index("uid", str(ref.get("uid"))):
                self.queue.add(key_of(sts))

    # -- reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        sts = self.sets.get(key)
        if sts is None or is_terminating(sts):
            return None
        pods = [p for p in self.pods.by_index("controller", uid_of(sts))
                if is_member(sts, p) and selector_of(sts).matches(labels_of(p))]
        revisions = self.revisions.by_index("controller", uid_of(sts))
        current, update, collisions = await self._revisions(sts, revisions)
        await self._update_set(sts, pods, current, update)
        await self._write_status(sts, pods, current, update, collisions)
        live = {meta(current)["name"], meta(update)["name"]} | {revision_of(p) for p in pods}
        limit = int(spec(sts).get("revisionHistoryLimit", 10) or 0)
        for old in history.history_to_drop(revisions, live, limit):
            try:
                await self.client.delete("controllerrevisions", meta(old)["name"],
                                          meta(old).get("namespace"))
            except NotFound:
                pass
        return None

    async def _revisions(self, sts: Obj, revisions: list[Obj]) -> tuple[Obj, Obj, int]:
        """getStatefulSetRevisions: the current and update revisions, the latter made (or
        renumbered) from the set's template; a hash collision bumps collisionCount."""
        ordered = history.sort_revisions(revisions)
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        candidate = history.new_revision(sts, history.next_number(ordered), collisions)
        equal = [r for r in ordered if history.same_data(r, candidate)]
        if equal and equal[-1] is ordered[-1]:
            update = equal[-1]
        elif equal:
            update = await self.client.patch(
                "controllerrevisions", meta(equal[-1])["name"], meta(sts).get("namespace"),
                {"revision": candidate["revision"]}, raw=True)
        else:
            while True:
                try:
                    update = await self.client.create("controllerrevisions", candidate,
                                                      meta(sts).get("namespace"), raw=True)
                    break
                except AlreadyExists:
                    existing = await self.client.get("controllerrevisions",
                                                     meta(candidate)["name"],
                                                     meta(sts).get("namespace"), raw=True)
                    if history.same_data(existing, candidate) and \
                            uid_of(sts) in _controller_uid(existing):
                        update = existing
                        break
                    collisions += 1
                    candidate = history.new_revision(sts, candidate["revision"], collisions)
        wanted = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in ordered if meta(r)["name"] == wanted), update)
        return current, update, collisions

    def _healthy(self, sts: Obj, pod: Obj) -> bool:
        """Running, Ready for minReadySeconds, not terminating (isRunningAndAvailable)."""
        min_ready = int(spec(sts).get("minReadySeconds") or 0)
        return (pod_phase(pod) == "Running" and not is_terminating(pod)
                and is_available(pod, min_ready, utcnow()))

    async def _update_set(self, sts: Obj, pods: list[Obj], current: Obj, update: Obj) -> None:
        """One pass of updateStatefulSet; returns as soon as an OrderedReady step is taken."""
        monotonic = spec(sts).get("podManagementPolicy", "OrderedReady") != "Parallel"
        start, count = start_ordinal(sts), replicas(sts)
        slots: list[Obj | None] = [None] * count
        condemned: list[Obj] = []
        for p in pods:
            o = ordinal_of(p)
            if start <= o < start + count:
                slots[o - start] = p
            else:
                condemned.append(p)
        condemned.sort(key=ordinal_of, reverse=True)
        for i, slot in enumerate(slots):
            ordinal, pod = start + i, slot
            if pod is not None and pod_phase(pod) in ("Failed", "Succeeded") \
                    and not is_terminating(pod):
                await self._delete_pod(sts, pod)  # recreated once it is gone
                if monotonic:
                    return
                continue
            if pod is None:
                await self._create_pod(sts, ordinal, current, update)
                if monotonic:
                    return
                continue
            if is_terminating(pod) or not self._healthy(sts, pod):
                if monotonic:
                    return
                continue
            labels = missing_identity_labels(sts, pod)
            if labels:
                await self._patch(pod, {"metadata": {"labels": labels}})
            await self._claims_follow_policy(sts, pod)
        unhealthy = [p for p in slots + condemned
                     if p is not None and not self._healthy(sts, p)]
        for pod in condemned:
            if is_terminating(pod):
                if monotonic:
                    return
                continue
            if monotonic and unhealthy and unhealthy[0] is not pod and not self._healthy(sts, pod):
                return
            await self._claims_follow_policy(sts, pod)
            await self._delete_pod(sts, pod)
            if monotonic:
                return
        strategy = spec(sts).get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        for target in range(count - 1, max(partition, 0) - 1, -1):
            member = slots[target]
            if member is None:
                return
            if revision_of(member) != meta(update)["name"] and not is_terminating(member):
                await self._delete_pod(sts, member)
                return
            if not self._healthy(sts, member):
                return

    # -- writes --------------------------------------------------------------------------

    async def _create_pod(self, sts: Obj, ordinal: int, current: Obj, update: Obj) -> None:
        """Claims first, then the pod at the revision its ordinal gets: below the partition
        the current one, else the update one (newVersionedStatefulSetPod)."""
        strategy = spec(sts).get("updateStrategy") or {}
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        revision = current if rolling and ordinal < start_ordinal(sts) + partition else update
        body = new_pod(sts, history.template_of(revision), ordinal, meta(revision)["name"])
        name, ns = meta(body)["name"], meta(sts).get("namespace")
        for claim in claims_for(sts, ordinal).values():
            if self.claims.get(f"{ns}/{meta(claim)['name']}") is not None:
                continue
            refs = claim_owner_refs(claim, sts, body)
            if refs:
                claim["metadata"]["ownerReferences"] = refs
            try:
                await self.client.create("persistentvolumeclaims", claim, ns, raw=True)
            except AlreadyExists:
                continue
            except ApiError as e:
                await self._event(sts, FAILED_CREATE, f"create Claim {meta(claim)['name']} for "
                                  f"Pod {name} in StatefulSet {meta(sts)['name']} failed "
                                  f"error: {e}", "Warning")
                raise
            await self._event(sts, SUCCESSFUL_CREATE, f"create Claim {meta(claim)['name']} Pod "
                              f"{name} in StatefulSet {meta(sts)['name']} success")
        try:
            await self.client.create("pods", body, ns, raw=True)
        except AlreadyExists:
            return  # the cache is behind: the next sync sees it
        except ApiError as e:
            await self._event(sts, FAILED_CREATE, f"create Pod {name} in StatefulSet "
                              f"{meta(sts)['name']} failed error: {e}", "Warning")
            raise
        await self._event(sts, SUCCESSFUL_CREATE,
                          f"create Pod {name} in StatefulSet {meta(sts)['name']} successful")

    async def _delete_pod(self, sts: Obj, pod: Obj) -> None:
        m = meta(pod)
        try:
            await self.client.delete("pods", m["name"], m.get("namespace"),
                                     preconditions={"uid": m.get("uid", "")})
        except (NotFound, Conflict):
            return
        await self._event(sts, SUCCESSFUL_DELETE,
                          f"delete Pod {m['name']} in StatefulSet {meta(sts)['name']} successful")

    async def _claims_follow_policy(self, sts: Obj, pod: Obj) -> None:
        """Owner references on the pod's claims as the retention policy wants them."""
        ns = meta(sts).get("namespace")
        for wanted in claims_for(sts, ordinal_of(pod)).values():
            claim = self.claims.get(f"{ns}/{meta(wanted)['name']}")
            if claim is None:
                continue
            refs = claim_owner_refs(claim, sts, pod)
            if refs is None:
                continue
            try:
                await self.client.patch(
                    "persistentvolumeclaims", meta(claim)["name"], ns,
                    {"metadata": {"ownerReferences": refs or None,
                                  "resourceVersion": meta(claim).get("resourceVersion")}},
                    raw=True)
            except (Conflict, NotFound):
                pass

    async def _patch(self, pod: Obj, body: Obj) -> None:
        try:
            await self.client.patch("pods", meta(pod)["name"], meta(pod).get("namespace"),
                                    body, raw=True)
        except (Conflict, NotFound):
            pass

    async def _write_status(self, sts: Obj, pods: list[Obj], current: Obj, update: Obj,
                            collisions: int) -> None:
        wanted = compute_status(sts, pods, current, update, collisions,
                                lambda p: self._healthy(sts, p))
        have = sts.get("status") or {}
        if all(have.get(k) == v for k, v in wanted.items()):
            return
        try:
            await self.client.patch("statefulsets", meta(sts)["name"],
                                    meta(sts).get("namespace"), {"status": wanted},
                                    subresource="status", raw=True)
        except NotFound:
            pass

    async def _event(self, sts: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        try:
            await self.client.create_event(sts, reason, message, type=type_,
                                           component="statefulset-controller",
                                           involved_kind=KIND, raw=True)
        except ApiError as e:
            log.debug("event %s for %s not recorded: %s", reason, key_of(sts), e)


def compute_status(sts: Obj, pods: list[Obj], current: Obj, update: Obj, collisions: int,
                   healthy: Any) -> Obj:
    """The set's status for its pods; a finished rolling update makes the update revision
    current (completeRollingUpdate)."""
    live = [p for p in pods if pod_phase(p) and not is_terminating(p)]
    status: Obj = {
        "observedGeneration": meta(sts).get("generation") or 1,
        "replicas": len([p for p in pods if pod_phase(p)]),
        "readyReplicas": sum(1 for p in live if pod_phase(p) == "Running" and is_ready(p)),
        "availableReplicas": sum(1 for p in live if healthy(p)),
        "currentReplicas": sum(1 for p in live if revision_of(p) == meta(current)["name"]),
        "updatedReplicas": sum(1 for p in live if revision_of(p) == meta(update)["name"]),
        "currentRevision": meta(current)["name"],
        "updateRevision": meta(update)["name"],
        "collisionCount": collisions,
    }
    rolling = (spec(sts).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    if rolling and status["updatedReplicas"] == status["replicas"] == replicas(sts) \
            and status["readyReplicas"] == status["replicas"]:
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]
    return status


__all__ = ["API_VERSION", "StatefulSetController", "compute_status", "owner_reference"]
