"""Garbage collector: deletes objects whose owners are gone, and carries out cascading deletion.

Dependents name their owners in metadata.ownerReferences. The collector watches the kinds
that carry them and keeps an owner-UID index, then, as Kubernetes' garbage collector does:

- an object whose owners are all gone is deleted (in the background); owner references to
  objects that no longer exist are removed when other owners remain. Before calling an owner
  gone, it is looked up live, so a slow watch never deletes a dependent of a new owner;
- an owner being deleted with the `orphan` finalizer (propagationPolicy=Orphan,
  `kubectl delete --cascade=orphan`) first has the references to it removed from its
  dependents, then loses the finalizer;
- an owner being deleted with the `foregroundDeletion` finalizer
  (propagationPolicy=Foreground) has its dependents deleted first, and loses the finalizer
  once none of them that block its deletion (blockOwnerDeletion) remain.

The kinds of Established CustomResourceDefinitions are watched too, each from the moment its
CRD is seen (Kubernetes' collector follows discovery the same way), under `plural.group`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubelite.api.crd.kinds import kinds_of
from kubelite.api.registry import KINDS, Kind, by_kind
from kubelite.client import ApiError, Conflict, Informer, NotFound
from kubelite.controllers.podutil import Obj, is_terminating, key_of, meta, uid_of
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"

# The kinds whose objects are owners or dependents in practice (those registered are watched).
WATCHED = ("deployments", "replicasets", "pods", "statefulsets", "daemonsets", "jobs",
           "cronjobs", "controllerrevisions", "services", "endpoints", "endpointslices",
           "configmaps", "secrets", "persistentvolumeclaims", "serviceaccounts",
           "poddisruptionbudgets")


def owner_uids(obj: Obj) -> list[str]:
    return [str(r.get("uid")) for r in meta(obj).get("ownerReferences") or [] if r.get("uid")]


def _gvk_of_ref(ref: Obj) -> tuple[str, str, str]:
    group, _, version = str(ref.get("apiVersion") or "").rpartition("/")
    return group, version, str(ref.get("kind") or "")


def custom_key(kind: Kind) -> str:
    """How the collector names a custom kind (plural.group: plurals repeat across groups)."""
    return f"{kind.plural}.{kind.group}"


class GarbageCollector(SharedController):
    """The kube-controller-manager "garbage-collector" controller."""

    name = "garbage-collector"
    workers = 4

    def __init__(self, client: Any, resources: tuple[str, ...] = WATCHED,
                 shared: SharedInformers | None = None, custom_kinds: bool = False) -> None:
        super().__init__(client, shared)
        served = {k.plural for k in KINDS if "watch" in k.verbs and "delete" in k.verbs}
        self.resources = tuple(r for r in resources if r in served)
        self.by_plural: dict[str, Informer] = {}
        # custom kinds: plural.group -> the kind watched, and each served version's GVK -> it
        self.custom: dict[str, Kind] = {}
        self.custom_by_gvk: dict[tuple[str, str, str], Kind] = {}
        self.watch_custom = custom_kinds  # also the kinds CRDs define (the controller-manager's)

    def setup(self) -> None:
        for plural in self.resources:
            inf = self.informer(plural, raw=True, indexers={
                "owner": owner_uids, "uid": lambda o: [uid_of(o)]})
            self._follow(plural, inf)
        if self.watch_custom:
            crds = self.informer("customresourcedefinitions", raw=True)
            crds.on_add(lambda crd: self._crd_changed(crd))
            crds.on_update(lambda old, new: self._crd_changed(new))
            crds.on_delete(lambda crd: self._crd_changed(crd, gone=True))

    def _follow(self, plural: str, inf: Informer) -> None:
        self.by_plural[plural] = inf
        inf.on_add(lambda o, p=plural: self._changed(p, None, o))
        inf.on_update(lambda old, new, p=plural: self._changed(p, old, new))
        inf.on_delete(lambda o, p=plural: self._deleted(p, o))

    def _crd_changed(self, crd: Obj, gone: bool = False) -> None:
        """Watch the objects of an Established CRD; stop when it goes."""
        served = [] if gone else kinds_of(crd, with_schema=False)
        spec = crd.get("spec") or {}
        key = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"
        if not served:
            inf = self.by_plural.pop(key, None) if key in self.custom else None
            kind = self.custom.pop(key, None)
            self.custom_by_gvk = {g: k for g, k in self.custom_by_gvk.items() if k is not kind}
            if inf is not None:
                self.informers.remove(inf)
                asyncio.get_running_loop().create_task(inf.stop())
            return
        kind = served[0]
        key = custom_key(kind)
        for version in served:
            self.custom_by_gvk[(version.group, version.version, version.kind)] = kind
        if key in self.custom:
            return
        self.custom[key] = kind
        inf = Informer(self.client, kind, raw=True, indexers={
            "owner": owner_uids, "uid": lambda o: [uid_of(o)]})
        self._follow(key, inf)
        self.informers.append(inf)
        inf.start()

    def _kind_of_ref(self, ref: Obj) -> Kind | None:
        gvk = _gvk_of_ref(ref)
        return by_kind(*gvk) or self.custom_by_gvk.get(gvk)

    def _target(self, plural: str) -> Kind | str:
        """What the client is given for a watched kind: its plural, or a custom Kind."""
        return self.custom.get(plural, plural)

    # -- events ----------------------------------------------------------------------------

    def _item(self, plural: str, obj: Obj) -> str:
        return f"{plural}|{key_of(obj)}"

    def _changed(self, plural: str, old: Obj | None, new: Obj) -> None:
        m = meta(new)
        if old is not None:
            om = meta(old)
            same = (om.get("ownerReferences") == m.get("ownerReferences")
                    and om.get("deletionTimestamp") == m.get("deletionTimestamp")
                    and om.get("finalizers") == m.get("finalizers"))
            if same:
                return
        if m.get("ownerReferences") or (
                is_terminating(new) and {ORPHAN, FOREGROUND} & set(m.get("finalizers") or [])):
            self.queue.add(self._item(plural, new))

    def _deleted(self, plural: str, obj: Obj) -> None:
        uid = uid_of(obj)
        for dep_plural, dep in self.dependents(uid):
            self.queue.add(self._item(dep_plural, dep))
        for owner_uid in owner_uids(obj):  # an owner may be waiting for this one to go
            for owner_plural, owner in self._find_uid(owner_uid):
                self.queue.add(self._item(owner_plural, owner))

    # -- graph reads -----------------------------------------------------------------------

    def dependents(self, uid: str) -> list[tuple[str, Obj]]:
        return [(plural, dep) for plural, inf in self.by_plural.items()
                for dep in inf.by_index("owner", uid)]

    def _find_uid(self, uid: str) -> list[tuple[str, Obj]]:
        return [(plural, o) for plural, inf in self.by_plural.items() for o in inf.by_index("uid", uid)]

    async def _owner_state(self, dependent: Obj, ref: Obj) -> tuple[str, Obj | None]:
        """"absent", "waiting" (being deleted in the foreground) or "present"."""
        uid = str(ref.get("uid") or "")
        kind = self._kind_of_ref(ref)
        if kind is None:
            return "present", None  # a kind we do not serve: never guess it is gone
        owner = None
        inf = self.by_plural.get(custom_key(kind) if kind.custom is not None else kind.plural)
        if inf is not None:
            found = inf.by_index("uid", uid)
            owner = found[0] if found else None
        if owner is None:
            namespace = meta(dependent).get("namespace") if kind.namespaced else None
            try:
                owner = await self.client.get(kind, str(ref.get("name")), namespace, raw=True)
            except NotFound:
                return "absent", None
        if uid_of(owner) != uid:
            return "absent", None
        if is_terminating(owner) and FOREGROUND in (meta(owner).get("finalizers") or []):
            return "waiting", owner
        return "present", owner

    # -- reconcile -------------------------------------------------------------------------

    async def reconcile(self, item: str) -> float | None:
        plural, key = item.split("|", 1)
        inf = self.by_plural.get(plural)
        obj = inf.get(key) if inf is not None else None
        if obj is None:
            return None
        finalizers = list(meta(obj).get("finalizers") or [])
        if is_terminating(obj) and ORPHAN in finalizers:
            await self.orphan_dependents(plural, obj)
            return None
        if is_terminating(obj) and FOREGROUND in finalizers:
            await self.delete_dependents(plural, obj)
        if meta(obj).get("ownerReferences"):
            await self.check_owners(plural, obj)
        return None

    async def check_owners(self, plural: str, obj: Obj) -> None:
        """attemptToDeleteItem: delete the object when no owner is left."""
        refs = list(meta(obj).get("ownerReferences") or [])
        states = [(ref, await self._owner_state(obj, ref)) for ref in refs]
        absent = [ref for ref, (state, _) in states if state == "absent"]
        present = [ref for ref, (state, _) in states if state == "present"]
        waiting = [ref for ref, (state, _) in states if state == "waiting"]
        if present:
            if absent:
                keep = [r for r in refs if r not in absent]
                await self._patch_owners(plural, obj, keep)
            return
        if is_terminating(obj):
            return
        if waiting:
            policy = "Foreground" if self.dependents(uid_of(obj)) else "Background"
        elif absent:
            policy = "Background"
        else:
            return
        await self._delete(plural, obj, policy)

    async def orphan_dependents(self, plural: str, owner: Obj) -> None:
        uid = uid_of(owner)
        for dep_plural, dep in self.dependents(uid):
            keep = [r for r in meta(dep).get("ownerReferences") or [] if r.get("uid") != uid]
            await self._patch_owners(dep_plural, dep, keep)
        await self._remove_finalizer(plural, owner, ORPHAN)

    async def delete_dependents(self, plural: str, owner: Obj) -> None:
        uid = uid_of(owner)
        blocking = 0
        for dep_plural, dep in self.dependents(uid):
            ref: Obj = next((r for r in meta(dep).get("ownerReferences") or [] if r.get("uid") == uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if not is_terminating(dep):
                policy = "Foreground" if self.dependents(uid_of(dep)) else "Background"
                await self._delete(dep_plural, dep, policy)
        if blocking == 0:
            await self._remove_finalizer(plural, owner, FOREGROUND)

    # -- writes ----------------------------------------------------------------------------

    async def _delete(self, plural: str, obj: Obj, policy: str) -> None:
        m = meta(obj)
        try:
            await self.client.delete(self._target(plural), m["name"], m.get("namespace"),
                                     propagation_policy=policy, preconditions={"uid": m.get("uid", "")})
            log.info("garbage collector: deleted %s %s (%s)", plural, key_of(obj), policy)
        except (NotFound, Conflict):
            pass  # already gone, or a new object of that name

    async def _patch_owners(self, plural: str, obj: Obj, refs: list[Obj]) -> None:
        m = meta(obj)
        try:
            await self.client.patch(self._target(plural), m["name"], m.get("namespace"), {"metadata": {
                "ownerReferences": refs or None, "uid": m.get("uid"),
                "resourceVersion": m.get("resourceVersion")}}, raw=True)
        except NotFound:
            pass

    async def _remove_finalizer(self, plural: str, obj: Obj, finalizer: str) -> None:
        m = meta(obj)
        remaining = [f for f in m.get("finalizers") or [] if f != finalizer]
        try:
            await self.client.patch(self._target(plural), m["name"], m.get("namespace"), {"metadata": {
                "finalizers": remaining or None, "uid": m.get("uid"),
                "resourceVersion": m.get("resourceVersion")}}, raw=True)
        except NotFound:
            pass
        except ApiError as e:
            log.debug("garbage collector: removing %s from %s: %s", finalizer, key_of(obj), e)
            raise
