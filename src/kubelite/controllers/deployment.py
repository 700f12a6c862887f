"""Deployment controller: rolls pod templates out through ReplicaSets.

Each template gets a ReplicaSet named `<deployment>-<pod-template-hash>`; RollingUpdate grows
the new one and shrinks old ones within maxSurge/maxUnavailable, Recreate empties the old ones
first. Revisions live in `deployment.kubernetes.io/revision` annotations, old empty
ReplicaSets beyond revisionHistoryLimit are deleted, a paused Deployment only scales, and the
Progressing condition tracks progressDeadlineSeconds: NewReplicaSetCreated when a rollout makes
its ReplicaSet, FoundNewReplicaSet when a Deployment without the condition already has one,
then ReplicaSetUpdated, NewReplicaSetAvailable or ProgressDeadlineExceeded. The arithmetic is
in `rollout.py`.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.client import AlreadyExists, ApiError, Conflict, NotFound
from kubelite.controllers import rollout as ro
from kubelite.controllers.podutil import (
    Obj,
    controller_ref,
    is_terminating,
    key_of,
    labels_of,
    meta,
    selector_of,
    uid_of,
    utcnow,
)
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

SCALING_REPLICA_SET = "ScalingReplicaSet"


def _rv(obj: Obj) -> int:
    try:
        return int(meta(obj).get("resourceVersion") or 0)
    except ValueError:
        return 0


class DeploymentController(SharedController):
    """The kube-controller-manager "deployment" controller."""

    name = "deployment"
    workers = 2

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)
        # ReplicaSets as we last wrote them, until the informer has caught up with our writes.
        self._written: dict[str, Obj] = {}

    def setup(self) -> None:
        self.deployments = self.informer("deployments", raw=True, indexers={
            "uid": lambda o: [uid_of(o)],
            "namespace": lambda o: [meta(o).get("namespace", "")]})
        self.sets = self.informer("replicasets", raw=True, indexers={
            "uid": lambda o: [uid_of(o)],
            "controller": _controller_uid,
            "orphans": lambda o: [] if controller_ref(o) else [meta(o).get("namespace", "")]})
        self.pods = self.informer("pods", raw=True, indexers={"controller": _controller_uid})
        self.deployments.on_add(lambda d: self.queue.add(key_of(d)))
        self.deployments.on_update(lambda old, new: self.queue.add(key_of(new)))
        self.deployments.on_delete(lambda d: self.queue.add(key_of(d)))
        self.sets.on_add(self._set_changed)
        self.sets.on_update(self._set_updated)
        self.sets.on_delete(self._set_changed)
        self.pods.on_delete(self._pod_deleted)

    def _owner_of(self, rs: Obj) -> str | None:
        ref = controller_ref(rs)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        found = self.deployments.by_index("uid", str(ref.get("uid")))
        return key_of(found[0]) if found else None

    def _set_changed(self, rs: Obj) -> None:
        key = self._owner_of(rs)
        if key is not None:
            self.queue.add(key)
            return
        if controller_ref(rs) is None:
            labels = labels_of(rs)
            for d in self.deployments.by_index("namespace", meta(rs).get("namespace", "")):
                if selector_of(d).matches(labels):
                    self.queue.add(key_of(d))

    def _set_updated(self, old: Obj, new: Obj) -> None:
        self._set_changed(old)
        self._set_changed(new)

    def _pod_deleted(self, pod: Obj) -> None:
        """A Recreate rollout waits for old pods to be gone."""
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        for rs in self.sets.by_index("uid", str(ref.get("uid"))):
            key = self._owner_of(rs)
            if key is not None:
                self.queue.add(key)

    # -- reading ---------------------------------------------------------------------------

    def _fresh(self, rs: Obj) -> Obj:
        """The newer of the cached ReplicaSet and the one we last wrote."""
        key = key_of(rs)
        written = self._written.get(key)
        if written is None:
            return rs
        if _rv(rs) >= _rv(written):
            del self._written[key]
            return rs
        return written

    def _remember(self, rs: Obj) -> Obj:
        self._written[key_of(rs)] = rs
        return rs

    async def claim_sets(self, d: Obj) -> list[Obj]:
        """ReplicaSets the Deployment controls, adopting matching orphans, releasing others."""
        selector = selector_of(d)
        owned: list[Obj] = []
        for rs in self.sets.by_index("controller", uid_of(d)):
            rs = self._fresh(rs)
            if selector.matches(labels_of(rs)):
                owned.append(rs)
            elif not is_terminating(rs):
                await self._set_owners(rs, [r for r in meta(rs).get("ownerReferences") or []
                                            if r.get("uid") != uid_of(d)])
        if not is_terminating(d):
            for rs in self.sets.by_index("orphans", meta(d).get("namespace", "")):
                if not is_terminating(rs) and selector.matches(labels_of(rs)):
                    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta(d)["name"],
                           "uid": uid_of(d), "controller": True, "blockOwnerDeletion": True}
                    adopted = await self._set_owners(rs, list(meta(rs).get("ownerReferences") or []) + [ref])
                    if adopted is not None:
                        owned.append(adopted)
        return owned

    async def _set_owners(self, rs: Obj, refs: list[Obj]) -> Obj | None:
        m = meta(rs)
        try:
            result: Obj = await self.client.patch(
                "replicasets", m["name"], m.get("namespace"),
                {"metadata": {"ownerReferences": refs or None, "uid": m.get("uid"),
                              "resourceVersion": m.get("resourceVersion")}}, raw=True)
            return self._remember(result)
        except (Conflict, NotFound):
            return None

    # -- reconcile -------------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        d = self.deployments.get(key)
        if d is None:
            return None
        if not (d.get("spec") or {}).get("selector") or selector_of(d).empty:
            return None  # an empty selector would select every pod: refuse to act on it
        sets = await self.claim_sets(d)
        if is_terminating(d):
            new_rs = ro.find_new(d, sets)
            return await self.sync_status(d, sets, new_rs, estimate_progress=False)
        new_rs = ro.find_new(d, sets)
        old = [rs for rs in sets if rs is not new_rs]
        active = [rs for rs in sets if ro.replicas(rs) > 0]
        if ro.spec(d).get("paused") or ro.is_scaling_event(d, active):
            return await self.sync_scale(d, sets, new_rs, old)
        if ro.is_rolling(d):
            return await self.rollout_rolling(d, sets, new_rs, old)
        return await self.rollout_recreate(d, sets, new_rs, old)

    async def sync_scale(self, d: Obj, sets: list[Obj], new_rs: Obj | None,
                         old: list[Obj]) -> float | None:
        """A paused Deployment or a scaling event: resize, clean history, report (dc.sync)."""
        if new_rs is not None and not ro.spec(d).get("paused"):
            d, new_rs = await self._sync_revision(d, sets, new_rs)
        await self._scale(d, new_rs, old)
        await self._cleanup(d, old)
        return await self.sync_status(d, self._current(sets), self._current_one(new_rs),
                                      estimate_progress=False)

    async def _scale(self, d: Obj, new_rs: Obj | None, old: list[Obj]) -> None:
        active = [rs for rs in old + ([new_rs] if new_rs else []) if ro.replicas(rs) > 0]
        candidates = active if active else ([new_rs] if new_rs else sorted(old, key=ro.revision)[-1:])
        if len(candidates) == 1 and (len(active) <= 1):
            rs = candidates[0]
            if ro.replicas(rs) != ro.replicas(d) or ro.annotations_of(rs).get(ro.DESIRED_REPLICAS) != str(ro.replicas(d)):
                await self._scale_set(d, rs, ro.replicas(d))
            return
        if ro.is_saturated(d, new_rs):
            for rs in old:
                if ro.replicas(rs) > 0:
                    await self._scale_set(d, rs, 0)
            return
        if ro.is_rolling(d):
            sizes = ro.proportional_sizes(d, active)
            by_name = {meta(rs)["name"]: rs for rs in active}
            for name, size in sizes.items():
                await self._scale_set(d, by_name[name], size)
            for rs in active:  # the desired-replicas annotation follows even without resizing
                if meta(rs)["name"] not in sizes and \
                        ro.annotations_of(rs).get(ro.DESIRED_REPLICAS) != str(ro.replicas(d)):
                    await self._scale_set(d, rs, ro.replicas(rs))

    async def rollout_rolling(self, d: Obj, sets: list[Obj], new_rs: Obj | None,
                              old: list[Obj]) -> float | None:
        d, new_rs = await self._ensure_new(d, sets, new_rs, old)
        if new_rs is None:
            return 1.0
        all_sets = old + [new_rs]
        wanted = ro.new_rs_replicas(d, all_sets, new_rs)
        if ro.replicas(new_rs) > ro.replicas(d):
            wanted = ro.replicas(d)
        if wanted != ro.replicas(new_rs):
            new_rs = await self._scale_set(d, new_rs, wanted)
            return await self.sync_status(d, self._current(sets), new_rs)
        plan = ro.old_scale_down_plan(d, [rs for rs in old if ro.replicas(rs) > 0], new_rs)
        if plan:
            by_name = {meta(rs)["name"]: rs for rs in old}
            for name, size in plan.items():
                await self._scale_set(d, by_name[name], size)
            return await self.sync_status(d, self._current(sets), new_rs)
        status = ro.calculate_status(d, all_sets, new_rs)
        if ro.is_complete(d, status):
            await self._cleanup(d, old)
        return await self.sync_status(d, self._current(sets), new_rs)

    async def rollout_recreate(self, d: Obj, sets: list[Obj], new_rs: Obj | None,
                               old: list[Obj]) -> float | None:
        scaled = False
        for rs in old:
            if ro.replicas(rs) > 0:
                await self._scale_set(d, rs, 0)
                scaled = True
        if scaled:
            return await self.sync_status(d, self._current(sets), new_rs)
        if self._old_pods_running(old):
            return await self.sync_status(d, sets, new_rs)
        d, new_rs = await self._ensure_new(d, sets, new_rs, old)
        if new_rs is None:
            return 1.0
        if ro.replicas(new_rs) != ro.replicas(d):
            new_rs = await self._scale_set(d, new_rs, ro.replicas(d))
        status = ro.calculate_status(d, old + [new_rs], new_rs)
        if ro.is_complete(d, status):
            await self._cleanup(d, old)
        return await self.sync_status(d, self._current(sets), new_rs)

    def _old_pods_running(self, old: list[Obj]) -> bool:
        for rs in old:
            if int(ro.status(rs).get("replicas") or 0) > 0:
                return True
            for pod in self.pods.by_index("controller", uid_of(rs)):
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    return True
        return False

    def _current(self, sets: list[Obj]) -> list[Obj]:
        return [self._fresh(rs) for rs in sets]

    def _current_one(self, rs: Obj | None) -> Obj | None:
        return self._fresh(rs) if rs is not None else None

    # -- writes ----------------------------------------------------------------------------

    async def _ensure_new(self, d: Obj, sets: list[Obj], new_rs: Obj | None,
                          old: list[Obj]) -> tuple[Obj, Obj | None]:
        """The new ReplicaSet (created if missing) with the current revision, and the
        Deployment with its revision annotation set."""
        if new_rs is not None:
            return await self._sync_revision(d, sets, new_rs)
        revision = ro.max_revision(old) + 1
        collisions = ro.status(d).get("collisionCount")
        wanted = ro.new_rs_replicas(d, old, None)
        body = ro.new_replica_set(d, collisions, revision, wanted)
        ns = meta(d).get("namespace")
        try:
            created = self._remember(await self.client.create("replicasets", body, ns, raw=True))
        except AlreadyExists:
            existing = await self.client.get("replicasets", body["metadata"]["name"], ns, raw=True)
            ref = controller_ref(existing)
            if ref and ref.get("uid") == uid_of(d) and ro.equal_ignore_hash(
                    ro.spec(existing).get("template") or {}, ro.spec(d).get("template") or {}):
                return await self._sync_revision(d, sets, self._remember(existing), found=False)
            # A hash collision: another template has this name. Count it, and hash again.
            await self.client.patch("deployments", meta(d)["name"], ns,
                                    {"status": {"collisionCount": int(collisions or 0) + 1}},
                                    subresource="status", raw=True)
            return d, None
        await self._event(d, SCALING_REPLICA_SET,
                          f"Scaled up replica set {meta(created)['name']} from 0 to {wanted}")
        d = await self._set_deployment_revision(d, revision)
        if ro.has_deadline(d):  # the progress deadline counts from here
            d = await self._set_progressing(d, ro.NEW_RS_CREATED,
                                            f'Created new replica set "{meta(created)["name"]}"')
        return d, created

    async def _set_progressing(self, d: Obj, reason: str, message: str) -> Obj:
        """Write Progressing=True with this reason (SetDeploymentCondition + UpdateStatus)."""
        current = [dict(c) for c in ro.status(d).get("conditions") or []]
        conditions = ro.set_condition(current, ro.PROGRESSING, "True", reason, message, utcnow())
        if conditions == current:
            return d
        m = meta(d)
        try:  # on a stale copy (another write since) nothing is lost: its event brings us back
            updated: Obj = await self.client.patch(
                "deployments", m["name"], m.get("namespace"),
                {"metadata": {"resourceVersion": m.get("resourceVersion")},
                 "status": {"conditions": conditions}}, subresource="status", raw=True)
        except Conflict:
            return d
        return updated

    async def _sync_revision(self, d: Obj, sets: list[Obj], new_rs: Obj,
                             found: bool = True) -> tuple[Obj, Obj]:
        """Bring the existing new ReplicaSet's revision and annotations up to date
        (getNewReplicaSet); `found`: a ReplicaSet this sync did not create, whose finding
        starts the progress estimate of a Deployment that has no Progressing condition."""
        old = [rs for rs in sets if meta(rs).get("name") != meta(new_rs).get("name")]
        new_revision = max(ro.max_revision(old) + 1, ro.revision(new_rs))
        wanted = dict(ro.copyable_annotations(d))
        history = ro.revision_history(new_rs, new_revision)
        if history:
            wanted.update(history)
        current = ro.annotations_of(new_rs)
        changes = {k: v for k, v in wanted.items() if current.get(k) != v}
        rs_spec = ro.spec(new_rs)
        min_ready = ro.spec(d).get("minReadySeconds") or 0
        patch: Obj = {}
        if changes:
            patch["metadata"] = {"annotations": changes}
        if (rs_spec.get("minReadySeconds") or 0) != min_ready:
            patch["spec"] = {"minReadySeconds": min_ready or None}
        if patch:
            m = meta(new_rs)
            new_rs = self._remember(await self.client.patch(
                "replicasets", m["name"], m.get("namespace"), patch, raw=True))
        d = await self._set_deployment_revision(d, ro.revision(new_rs))
        if found and ro.has_deadline(d) and ro.condition(ro.status(d).get("conditions") or [],
                                                         ro.PROGRESSING) is None:
            d = await self._set_progressing(d, ro.FOUND_NEW_RS,
                                            f'Found new replica set "{meta(new_rs)["name"]}"')
        return d, new_rs

    async def _set_deployment_revision(self, d: Obj, revision: int) -> Obj:
        if ro.annotations_of(d).get(ro.REVISION) == str(revision):
            return d
        m = meta(d)
        updated: Obj = await self.client.patch(
            "deployments", m["name"], m.get("namespace"),
            {"metadata": {"annotations": {ro.REVISION: str(revision)}}}, raw=True)
        return updated

    async def _scale_set(self, d: Obj, rs: Obj, size: int) -> Obj:
        """Resize a ReplicaSet and stamp it with the Deployment size it was made for."""
        m = meta(rs)
        before = ro.replicas(rs)
        patch = {"metadata": {"annotations": {
                     ro.DESIRED_REPLICAS: str(ro.replicas(d)),
                     ro.MAX_REPLICAS: str(ro.replicas(d) + ro.max_surge(d))}},
                 "spec": {"replicas": size}}
        updated = self._remember(await self.client.patch("replicasets", m["name"], m.get("namespace"),
                                                         patch, raw=True))
        if size != before:
            verb = "up" if size > before else "down"
            await self._event(d, SCALING_REPLICA_SET,
                              f"Scaled {verb} replica set {m['name']} from {before} to {size}")
        return updated

    async def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        for rs in ro.history_to_delete(d, [self._fresh(r) for r in old]):
            m = meta(rs)
            try:
                await self.client.delete("replicasets", m["name"], m.get("namespace"),
                                         preconditions={"uid": m.get("uid", "")})
            except (NotFound, Conflict):
                pass

    async def sync_status(self, d: Obj, sets: list[Obj], new_rs: Obj | None,
                          estimate_progress: bool = True) -> float | None:
        """Write the status; `estimate_progress` False only syncs counts and Available
        (syncDeploymentStatus), True also moves Progressing (syncRolloutStatus)."""
        now = utcnow()
        new_status = ro.calculate_status(d, sets, new_rs)
        conditions, recheck = ro.rollout_conditions(d, new_status, new_rs, now, estimate_progress)
        new_status["conditions"] = conditions
        current = ro.status(d)
        if ro.status_equal(current, new_status):
            return recheck
        patch: Obj = {k: (v if v else None) for k, v in new_status.items()}
        patch["observedGeneration"] = new_status["observedGeneration"]
        for k in current:
            patch.setdefault(k, None)
        m = meta(d)
        try:
            await self.client.patch("deployments", m["name"], m.get("namespace"), {"status": patch},
                                    subresource="status", raw=True)
        except NotFound:
            return None
        return recheck

    async def _event(self, d: Obj, reason: str, message: str) -> None:
        try:
            await self.client.create_event(d, reason, message, component="deployment-controller",
                                           involved_kind="Deployment", raw=True)
        except ApiError as e:
            log.debug("event %s for %s not recorded: %s", reason, key_of(d), e)


def _controller_uid(obj: Obj) -> list[str]:
    ref = controller_ref(obj)
    return [str(ref.get("uid"))] if ref else []
