"""DaemonSet controller: one pod per eligible node, scheduled by the scheduler.

Each daemon pod is the template with the default DaemonSet tolerations and a required node
affinity on `metadata.name` for its node (`daemonset_nodes`); the scheduler binds it there.
A sync claims the DaemonSet's pods, snapshots its template as a ControllerRevision
(`daemonset_history`), creates and deletes pods per node (`daemonset_plan.manage`), rolls old
pods over to the current template (`daemonset_plan.rolling_update`) and writes the status.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
from typing import Any

from kubelite.client import ApiError, Conflict, NotFound
from kubelite.controllers import daemonset_history as history
from kubelite.controllers.daemonset_nodes import daemon_pod_spec, node_should_run
from kubelite.controllers.daemonset_plan import (
    HASH_LABEL,
    Plan,
    is_updated,
    manage,
    rolling_update,
    surge_and_unavailable,
    target_node,
)
from kubelite.controllers.expectations import Expectations
from kubelite.controllers.podutil import (
    Obj,
    controller_ref,
    is_available,
    is_ready,
    is_terminating,
    key_of,
    meta,
    owner_reference,
    pod_phase,
    uid_of,
    utcnow,
)
from kubelite.controllers.replicaset import (
    _controller_uid,
    next_availability_check,
    slow_start_batches,
)
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

KIND = "DaemonSet"
API_VERSION = "apps/v1"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
BURST_REPLICAS = 250

# Event reasons, as pkg/controller/daemon words them.
SUCCESSFUL_CREATE = "SuccessfulCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
FAILED_CREATE = "FailedCreate"
FAILED_DAEMON_POD = "FailedDaemonPod"


def daemon_pod(ds: Obj, node_name: str, hash_: str) -> Obj:
    """util.NewPod for `node_name`, labelled with the revision hash and template generation."""
    template = (ds.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    m = meta(ds)
    labels = {**(tmeta.get("labels") or {}), HASH_LABEL: hash_,
              TEMPLATE_GENERATION_LABEL: str(m.get("generation") or 1)}
    pod_meta: Obj = {"generateName": f"{m['name']}-", "namespace": m.get("namespace"),
                     "labels": labels,
                     "ownerReferences": [owner_reference(ds, API_VERSION, KIND)]}
    for field in ("annotations", "finalizers"):
        if tmeta.get(field):
            pod_meta[field] = copy.deepcopy(tmeta[field])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
            "spec": daemon_pod_spec(template.get("spec") or {}, node_name)}


def calculate_status(ds: Obj, placements: dict[str, tuple[bool, bool]],
                     pods_by_node: dict[str, list[Obj]], hash_: str, now: dt.datetime) -> Obj:
    """updateDaemonSetStatus: counts over nodes, the oldest live pod standing for each."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    desired = current = misscheduled = ready = available = updated = 0
    for node in set(placements) | set(pods_by_node):
        run = placements.get(node, (False, False))[0]
        pods = sorted((p for p in pods_by_node.get(node, []) if not is_terminating(p)
                       and pod_phase(p) not in ("Failed", "Succeeded")),
                      key=lambda p: str(meta(p).get("creationTimestamp") or ""))
        if run:
            desired += 1
            if pods:
                current += 1
                ready += is_ready(pods[0])
                available += is_available(pods[0], min_ready, now)
                updated += is_updated(pods[0], hash_)
        elif pods:
            misscheduled += 1
    return {"currentNumberScheduled": current, "numberMisscheduled": misscheduled,
            "desiredNumberScheduled": desired, "numberReady": ready,
            "updatedNumberScheduled": updated, "numberAvailable": available,
            "numberUnavailable": desired - available,
            "observedGeneration": meta(ds).get("generation") or 1}


class DaemonSetController(SharedController):
    """The kube-controller-manager "daemonset" controller."""

    name = "daemonset"
    workers = 2

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)
        self.expectations = Expectations()

    def setup(self) -> None:
        self.sets = self.informer("daemonsets", raw=True, indexers={
            "uid": lambda o: [uid_of(o)]})
        self.pods = self.informer("pods", raw=True, indexers={"controller": _controller_uid})
        self.nodes = self.informer("nodes", raw=True)
        self.revisions = self.informer("controllerrevisions", raw=True,
                                       indexers={"controller": _controller_uid})
        self.sets.on_add(lambda o: self.queue.add(key_of(o)))
        self.sets.on_update(lambda old, new: self.queue.add(key_of(new)))
        self.sets.on_delete(self._set_deleted)
        self.pods.on_add(self._pod_added)
        self.pods.on_update(lambda old, new: self._pod_changed(new, old))
        self.pods.on_delete(self._pod_deleted)
        self.nodes.on_add(lambda o: self._all())
        self.nodes.on_update(self._node_updated)
        self.nodes.on_delete(lambda o: self._all())

    # -- event handlers ------------------------------------------------------------------

    def _all(self) -> None:
        for ds in self.sets.list():
            self.queue.add(key_of(ds))

    def _node_updated(self, old: Obj, new: Obj) -> None:
        # shouldIgnoreNodeUpdate: only labels, taints and conditions change where daemons run
        def relevant(n: Obj) -> tuple[Any, ...]:
            return (meta(n).get("labels"), (n.get("spec") or {}).get("taints"),
                    (n.get("spec") or {}).get("unschedulable"))
        if relevant(old) != relevant(new):
            self._all()

    def _owner_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != KIND:
            return None
        owners = self.sets.by_index("uid", str(ref.get("uid")))
        return key_of(owners[0]) if owners else None

    def _set_deleted(self, ds: Obj) -> None:
        self.expectations.forget(key_of(ds))

    def _pod_added(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.queue.add(key)

    def _pod_changed(self, pod: Obj, old: Obj | None = None) -> None:
        key = self._owner_key(pod)
        if key is not None:
            if old is not None and is_terminating(pod) and not is_terminating(old):
                self.expectations.deletion_observed(key, uid_of(pod))
            self.queue.add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.deletion_observed(key, uid_of(pod))
            self.queue.add(key)

    # -- reconcile -----------------------------------------------------------------------

    async def reconcile(self, key: str) -> float | None:
        ds = self.sets.get(key)
        if ds is None:
            self.expectations.forget(key)
            return None
        pods = self.pods.by_index("controller", uid_of(ds))
        hash_ = await self._snapshot(ds, pods)
        template_spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
        placements = {}
        for node in self.nodes.list():
            p = node_should_run(node, template_spec)
            placements[str(meta(node).get("name"))] = (p.should_run, p.should_continue_running)
        by_node: dict[str, list[Obj]] = {}
        for pod in pods:
            by_node.setdefault(target_node(pod), []).append(pod)
        now = utcnow()
        if self.expectations.satisfied(key) and not is_terminating(ds):
            desired = sum(1 for run, _ in placements.values() if run)
            surge, _ = surge_and_unavailable(ds, desired)
            plan = manage(placements, by_node, hash_, surge > 0)
            strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type")
            if strategy in (None, "RollingUpdate") and not plan.create and not plan.delete:
                wanted = {n: ps for n, ps in by_node.items() if placements.get(n, (0, 0))[0]}
                plan = rolling_update(ds, wanted, desired, hash_, now)
            await self._sync_nodes(ds, key, plan, hash_)
        status = calculate_status(ds, placements, by_node, hash_, now)
        if any((ds.get("status") or {}).get(k, 0) != v for k, v in status.items()):
            ns, name = key.split("/", 1)
            try:
                await self.client.patch("daemonsets", name, ns, {"status": status},
                                        subresource="status", raw=True)
            except NotFound:
                return None
        live = [p for p in pods if not is_terminating(p)]
        return next_availability_check(ds, live, now)

    async def _snapshot(self, ds: Obj, pods: list[Obj]) -> str:
        """The current template's revision (made, or renumbered as newest after an undo),
        and stale ones beyond revisionHistoryLimit removed."""
        hash_ = history.current_hash(ds)
        revisions = self.revisions.by_index("controller", uid_of(ds))
        newest = max((int(r.get("revision") or 0) for r in revisions), default=0)
        mine = [r for r in revisions if (meta(r).get("labels") or {}).get(HASH_LABEL) == hash_]
        ns = meta(ds).get("namespace")
        try:
            if not mine:
                await self.client.create("controllerrevisions",
                                         history.new_revision(ds, hash_, newest + 1), ns, raw=True)
            elif int(mine[0].get("revision") or 0) < newest:
                await self.client.patch("controllerrevisions", meta(mine[0])["name"], ns,
                                        {"revision": newest + 1}, raw=True)
            limit = int((ds.get("spec") or {}).get("revisionHistoryLimit", 10) or 0)
            live_hashes = {(meta(p).get("labels") or {}).get(HASH_LABEL, "") for p in pods}
            for rev in history.stale_revisions(revisions, live_hashes, hash_, limit):
                await self.client.delete("controllerrevisions", meta(rev)["name"], ns)
        except (Conflict, NotFound):
            pass  # someone else wrote it meanwhile; the informer brings the result
        return hash_

    async def _sync_nodes(self, ds: Obj, key: str, plan: Plan, hash_: str) -> None:
        """syncNodes: creations in slow-start batches, deletions all at once."""
        create = plan.create[:BURST_REPLICAS]
        delete = plan.delete[:BURST_REPLICAS]
        if delete:
            self.expectations.expect_deletions(key, {uid_of(p) for p in delete})
            await asyncio.gather(*(self._delete_pod(ds, key, p) for p in delete),
                                 return_exceptions=True)
        if not create:
            return
        self.expectations.expect_creations(key, len(create))
        done = 0
        for size in slow_start_batches(len(create)):
            batch = create[done:done + size]
            results = await asyncio.gather(*(self._create_pod(ds, n, hash_) for n in batch),
                                           return_exceptions=True)
            done += size
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                self.expectations.creation_failed(key, len(create) - done + len(errors))
                await self._event(ds, FAILED_CREATE, f"Error creating: {errors[0]}", "Warning")
                return

    async def _create_pod(self, ds: Obj, node: str, hash_: str) -> None:
        pod = await self.client.create("pods", daemon_pod(ds, node, hash_),
                                       meta(ds).get("namespace"), raw=True)
        await self._event(ds, SUCCESSFUL_CREATE, f"Created pod: {meta(pod).get('name')}")

    async def _delete_pod(self, ds: Obj, key: str, pod: Obj) -> None:
        m = meta(pod)
        if pod_phase(pod) == "Failed":
            await self._event(ds, FAILED_DAEMON_POD, f"Found failed daemon pod {m.get('namespace')}/"
                              f"{m['name']} on node {target_node(pod)}, will try to kill it",
                              "Warning")
        try:
            await self.client.delete("pods", m["name"], m.get("namespace"),
                                     preconditions={"uid": m.get("uid", "")})
        except ApiError:
            self.expectations.deletion_observed(key, uid_of(pod))
            return
        await self._event(ds, SUCCESSFUL_DELETE, f"Deleted pod: {m['name']}")

    async def _event(self, ds: Obj, reason: str, message: str, type_: str = "Normal") -> None:
        try:
            await self.client.create_event(ds, reason, message, type=type_,
                                           component="daemonset-controller",
                                           involved_kind=KIND, raw=True)
        except ApiError as e:
            log.debug("event %s for %s not recorded: %s", reason, key_of(ds), e)
