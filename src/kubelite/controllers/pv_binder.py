"""The PersistentVolume binder (kube-controller-manager's persistentvolume-binder).

A claim binds to the smallest Available volume that fits it: enough capacity, every access mode
it asks for, the same storageClassName and volumeMode, its label selector, and (for a
WaitForFirstConsumer class) node affinity to the node its pod runs on. A volume whose claim is
gone is Released and then kept (Retain) or deleted (Delete: by whoever provisioned it).

Kubernetes' scheduler writes `volume.kubernetes.io/selected-node` on a delayed-binding claim
when it binds the pod; kubelite's scheduler has no volume plugin, so this controller writes it
from the pod's `spec.nodeName` once the pod is scheduled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from kubelite.api.quantity import parse_quantity
from kubelite.api.selectors import label_selector_from_struct
from kubelite.client import ApiClient, Invalid, NotFound
from kubelite.controllers.base import Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
LOCAL_PATH_PROVISIONER = "rancher.io/local-path"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"

# Events, in the words of pkg/controller/volume/persistentvolume.
FAILED_BINDING = "FailedBinding"
NO_VOLUME_NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
WAIT_FOR_CONSUMER_MESSAGE = "waiting for first consumer to be created before binding"
EXTERNAL_PROVISIONING = "ExternalProvisioning"
VOLUME_FAILED_DELETE = "VolumeFailedDelete"


def _meta(o: Obj) -> Obj:
    return o.get("metadata") or {}


def _spec(o: Obj) -> Obj:
    return o.get("spec") or {}


def phase(o: Obj) -> str:
    return str((o.get("status") or {}).get("phase") or "")


def capacity_bytes(pv: Obj) -> int:
    return parse_quantity((_spec(pv).get("capacity") or {}).get("storage") or "0").value()


def request_bytes(pvc: Obj) -> int:
    requests = (_spec(pvc).get("resources") or {}).get("requests") or {}
    return parse_quantity(requests.get("storage") or "0").value()


def claim_ref_matches(pv: Obj, pvc: Obj) -> bool:
    ref = _spec(pv).get("claimRef") or {}
    meta = _meta(pvc)
    return (ref.get("name") == meta.get("name") and ref.get("namespace") == meta.get("namespace")
            and ref.get("uid") in (None, "", meta.get("uid")))


def node_affinity_allows(pv: Obj, node_labels: dict[str, str]) -> bool:
    """The volume's required node affinity (terms ORed, expressions ANDed) against a node."""
    required = ((_spec(pv).get("nodeAffinity") or {}).get("required") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    for term in terms:
        if all(_expression_ok(e, node_labels) for e in term.get("matchExpressions") or []):
            return True
    return False


def _expression_ok(expr: Obj, labels: dict[str, str]) -> bool:
    key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
    has, value = key in labels, labels.get(key, "")
    if op == "In":
        return has and value in values
    if op == "NotIn":
        return not has or value not in values
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt") and has and values:
        try:
            return int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0])
        except ValueError:
            return False
    return False


def volume_fits(pv: Obj, pvc: Obj, node_labels: dict[str, str] | None = None) -> bool:
    """Could this claim bind this volume (ignoring whether the volume is free)?"""
    ps, cs = _spec(pv), _spec(pvc)
    if (ps.get("storageClassName") or "") != (cs.get("storageClassName") or ""):
        return False
    if (ps.get("volumeMode") or "Filesystem") != (cs.get("volumeMode") or "Filesystem"):
        return False
    if not set(cs.get("accessModes") or []) <= set(ps.get("accessModes") or []):
        return False
    if capacity_bytes(pv) < request_bytes(pvc):
        return False
    selector = cs.get("selector")
    if selector and not label_selector_from_struct(selector).matches(_meta(pv).get("labels") or {}):
        return False
    return node_labels is None or node_affinity_allows(pv, node_labels)


def find_best_match(pvc: Obj, pvs: list[Obj], node_labels: dict[str, str] | None = None
                    ) -> Obj | None:
    """A volume pre-bound to this claim, else the smallest Available fitting one."""
    candidates = []
    for pv in pvs:
        if _meta(pv).get("deletionTimestamp") or phase(pv) in ("Released", "Failed"):
            continue
        ref = _spec(pv).get("claimRef")
        if ref:
            if claim_ref_matches(pv, pvc) and volume_fits(pv, pvc, node_labels):
                return pv
            continue
        if volume_fits(pv, pvc, node_labels):
            candidates.append(pv)
    if not candidates:
        return None
    return min(candidates, key=lambda pv: (capacity_bytes(pv), _meta(pv).get("name", "")))


def default_class(classes: list[Obj]) -> Obj | None:
    """The default StorageClass (the newest, if several say so, as Kubernetes picks)."""
    defaults = [c for c in classes
                if (_meta(c).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"]
    if not defaults:
        return None
    return max(defaults, key=lambda c: (_meta(c).get("creationTimestamp") or "",
                                        _meta(c).get("name", "")))


def with_effective_class(pvc: Obj, classes: list[Obj]) -> Obj:
    """The claim as the binder sees it: no storageClassName means the default class.

    Kubernetes writes that into the claim (admission at create, or the retroactive update);
    when the server refuses the update, the controllers still treat the claim the same way.
    """
    spec = _spec(pvc)
    if spec.get("storageClassName") is not None or spec.get("volumeName"):
        return pvc
    dflt = default_class(classes)
    if dflt is None:
        return pvc
    return {**pvc, "spec": {**spec, "storageClassName": _meta(dflt)["name"]}}


def claims_of(pod: Obj) -> list[str]:
    return [v["persistentVolumeClaim"].get("claimName", "")
            for v in _spec(pod).get("volumes") or [] if v.get("persistentVolumeClaim")]


class PersistentVolumeController(Controller):
    name = "persistentvolume-binder"

    def __init__(self, client: ApiClient) -> None:
        super().__init__(client)
        self._reported: set[tuple[str, str]] = set()
        self._class_refused: set[str] = set()  # claims whose class update the server refused

    def setup(self) -> None:
        self.pvcs = self.informer("persistentvolumeclaims", raw=True)
        self.pvs = self.informer("persistentvolumes", raw=True)
        self.classes = self.informer("storageclasses", raw=True)
        self.nodes = self.informer("nodes", raw=True)
        self.pods = self.informer("pods", raw=True)
        claim = lambda o: self.queue.add("pvc:" + _key(o))  # noqa: E731
        volume = lambda o: self.queue.add("pv:" + _meta(o)["name"])  # noqa: E731
        self.pvcs.on_add(claim)
        self.pvcs.on_update(lambda _o, n: claim(n))
        self.pvcs.on_delete(self._claim_deleted)
        self.pvs.on_add(volume)
        self.pvs.on_update(lambda _o, n: volume(n))
        self.pvs.on_delete(lambda o: self._requeue_claim_of(o))
        self.classes.on_add(lambda _c: self._all_claims())
        self.pods.on_add(self._pod_changed)
        self.pods.on_update(lambda _o, n: self._pod_changed(n))

    def _all_claims(self) -> None:
        for pvc in self.pvcs.list():
            self.queue.add("pvc:" + _key(pvc))

    def _claim_deleted(self, pvc: Obj) -> None:
        for pv in self.pvs.list():
            if claim_ref_matches(pv, pvc):
                self.queue.add("pv:" + _meta(pv)["name"])

    def _requeue_claim_of(self, pv: Obj) -> None:
        ref = _spec(pv).get("claimRef") or {}
        if ref.get("name"):
            self.queue.add(f"pvc:{ref.get('namespace')}/{ref['name']}")

    def _pod_changed(self, pod: Obj) -> None:
        if _spec(pod).get("nodeName") and claims_of(pod):
            self.queue.add("pod:" + _key(pod))

    async def reconcile(self, key: str) -> float | None:
        what, _, rest = key.partition(":")
        if what == "pvc":
            return await self.sync_claim(rest)
        if what == "pv":
            return await self.sync_volume(rest)
        if what == "pod":
            await self.select_node(rest)
        return None

    # -- claims -----------------------------------------------------------------------------

    async def sync_claim(self, key: str) -> float | None:
        pvc = self.pvcs.get(key)
        if pvc is None or _meta(pvc).get("deletionTimestamp"):
            return None
        meta, spec = _meta(pvc), _spec(pvc)
        ns, name = meta.get("namespace") or "default", meta["name"]
        effective = with_effective_class(pvc, self.classes.list())
        if effective is not pvc and meta.get("uid") not in self._class_refused:
            try:  # retroactive default StorageClass assignment
                await self.client.patch("persistentvolumeclaims", name, ns, {"spec": {
                    "storageClassName": _spec(effective)["storageClassName"]}}, raw=True)
                return None
            except Invalid as e:
                log.info("claim %s: the server keeps storageClassName unset (%s); binding it "
                         "as the default class", key, e)
                self._class_refused.add(meta.get("uid", ""))
        pvc, spec = effective, _spec(effective)
        if phase(pvc) == "Bound" and spec.get("volumeName"):
            pv = self.pvs.get(spec["volumeName"])
            if pv is None:
                await self._claim_status(pvc, {"phase": "Lost"})
            elif not claim_ref_matches(pv, pvc):
                await self._claim_status(pvc, {"phase": "Lost"})
            return None
        if spec.get("volumeName"):
            pv = self.pvs.get(spec["volumeName"])
            if pv is not None and (not _spec(pv).get("claimRef") or claim_ref_matches(pv, pvc)):
                await self.bind(pv, pvc)
            return None
        cls = self.classes.get(spec.get("storageClassName") or "")
        delayed = cls is not None and cls.get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER
        node = (meta.get("annotations") or {}).get(SELECTED_NODE)
        if delayed and not node:
            self._event_once(pvc, "WaitForFirstConsumer", WAIT_FOR_CONSUMER_MESSAGE)
            return None
        labels = self._node_labels(node) if delayed and node else None
        match = find_best_match(pvc, self.pvs.list(), labels)
        if match is not None:
            await self.bind(match, pvc)
            return None
        if cls is not None and cls.get("provisioner") not in (None, "", "kubernetes.io/no-provisioner"):
            await self._note_provisioner(pvc, cls["provisioner"])
        elif not spec.get("storageClassName"):
            self._event_once(pvc, FAILED_BINDING, NO_VOLUME_NO_CLASS, warning=True)
        return None

    def _node_labels(self, node: str) -> dict[str, str]:
        obj = self.nodes.get(node)
        labels = dict((_meta(obj).get("labels") or {}) if obj else {})
        labels.setdefault("kubernetes.io/hostname", node)
        return labels

    async def _note_provisioner(self, pvc: Obj, provisioner: str) -> None:
        ann = _meta(pvc).get("annotations") or {}
        if ann.get(STORAGE_PROVISIONER) != provisioner:
            await self.client.patch(
                "persistentvolumeclaims", _meta(pvc)["name"], _meta(pvc).get("namespace"),
                {"metadata": {"annotations": {STORAGE_PROVISIONER: provisioner,
                                              BETA_STORAGE_PROVISIONER: provisioner}}}, raw=True)
        self._event_once(pvc, EXTERNAL_PROVISIONING,
                         f"Waiting for a volume to be created either by the external provisioner "
                         f"'{provisioner}' or manually by the system administrator. If volume "
                         "creation is delayed, please verify that the provisioner is running and "
                         "correctly registered.")

    async def bind(self, pv: Obj, pvc: Obj) -> None:
        """Both halves, volume first (as the binder does): claimRef, phases, volumeName."""
        pmeta, cmeta = _meta(pv), _meta(pvc)
        if not _spec(pv).get("claimRef") or not (_spec(pv).get("claimRef") or {}).get("uid"):
            pv = await self.client.patch("persistentvolumes", pmeta["name"], None, {
                "metadata": {"annotations": {BOUND_BY_CONTROLLER: "yes"}},
                "spec": {"claimRef": {
                    "kind": "PersistentVolumeClaim", "apiVersion": "v1",
                    "namespace": cmeta.get("namespace"), "name": cmeta["name"],
                    "uid": cmeta.get("uid"), "resourceVersion": cmeta.get("resourceVersion")}}},
                raw=True)
        if phase(pv) != "Bound":
            await self.client.patch("persistentvolumes", pmeta["name"], None,
                                    {"status": {"phase": "Bound"}}, subresource="status", raw=True)
        ann = {BIND_COMPLETED: "yes"}
        if not _spec(pvc).get("volumeName"):
            ann[BOUND_BY_CONTROLLER] = "yes"
        if not _spec(pvc).get("volumeName") or \
                any((cmeta.get("annotations") or {}).get(k) != v for k, v in ann.items()):
            await self.client.patch("persistentvolumeclaims", cmeta["name"], cmeta.get("namespace"),
                                    {"metadata": {"annotations": ann},
                                     "spec": {"volumeName": pmeta["name"]}}, raw=True)
        ps = _spec(pv)
        await self._claim_status(pvc, {"phase": "Bound",
                                       "accessModes": ps.get("accessModes") or [],
                                       "capacity": ps.get("capacity") or {}})
        log.info("bound claim %s/%s to volume %s", cmeta.get("namespace"), cmeta["name"],
                 pmeta["name"])

    async def _claim_status(self, pvc: Obj, status: Obj) -> None:
        current = pvc.get("status") or {}
        if all(current.get(k) == v for k, v in status.items()):
            return
        await self.client.patch("persistentvolumeclaims", _meta(pvc)["name"],
                                _meta(pvc).get("namespace"), {"status": status},
                                subresource="status", raw=True)

    def _event_once(self, obj: Obj, reason: str, message: str, warning: bool = False) -> None:
        mark = (_meta(obj).get("uid", ""), reason)
        if mark in self._reported:
            return
        self._reported.add(mark)
        _spawn(self.client.create_event(
            obj, reason, message, type="Warning" if warning else "Normal",
            component="persistentvolume-controller", involved_kind="persistentvolumeclaims"))

    # -- volumes ----------------------------------------------------------------------------

    async def sync_volume(self, name: str) -> float | None:
        pv = self.pvs.get(name)
        if pv is None:
            return None
        ref = _spec(pv).get("claimRef")
        if not ref:
            if phase(pv) not in ("Available", "Failed"):
                await self._volume_status(pv, "Available")
            return None
        ns, claim_name = ref.get("namespace") or "default", ref.get("name", "")
        try:
            pvc: Obj | None = await self.client.get("persistentvolumeclaims", claim_name, ns,
                                                    raw=True)
        except NotFound:
            pvc = None
        if pvc is not None and ref.get("uid") in (None, "", _meta(pvc).get("uid")):
            if _spec(pvc).get("volumeName") == name:
                if phase(pv) != "Bound":
                    await self._volume_status(pv, "Bound")
            elif phase(pv) not in ("Available",):
                await self._volume_status(pv, "Available")
            self.queue.add(f"pvc:{ns}/{claim_name}")
            return None
        if not ref.get("uid"):  # pre-bound to a claim that does not exist yet
            if phase(pv) != "Available":
                await self._volume_status(pv, "Available")
            return None
        if phase(pv) not in ("Released", "Failed"):
            await self._volume_status(pv, "Released")
            return None
        return await self._reclaim(pv)

    async def _reclaim(self, pv: Obj) -> float | None:
        policy = _spec(pv).get("persistentVolumeReclaimPolicy") or "Retain"
        if policy == "Retain" or phase(pv) == "Failed":
            return None
        provisioned_by = (_meta(pv).get("annotations") or {}).get(PROVISIONED_BY)
        if policy == "Delete" and provisioned_by == LOCAL_PATH_PROVISIONER:
            return None  # the node's kubelet deletes the directory, then the volume
        message = (f'error getting deleter volume plugin for volume "{_meta(pv)["name"]}": '
                   "no deletable volume plugin matched")
        await self.client.patch("persistentvolumes", _meta(pv)["name"], None,
                                {"status": {"phase": "Failed", "message": message}},
                                subresource="status", raw=True)
        _spawn(self.client.create_event(
            pv, VOLUME_FAILED_DELETE, message, type="Warning",
            component="persistentvolume-controller", involved_kind="persistentvolumes"))
        return None

    async def _volume_status(self, pv: Obj, new_phase: str) -> None:
        await self.client.patch("persistentvolumes", _meta(pv)["name"], None,
                                {"status": {"phase": new_phase}}, subresource="status", raw=True)

    # -- delayed binding --------------------------------------------------------------------

    async def select_node(self, key: str) -> None:
        """The scheduler's part of WaitForFirstConsumer: name the pod's node on its claims."""
        pod = self.pods.get(key)
        if pod is None:
            return
        node = _spec(pod).get("nodeName")
        ns = _meta(pod).get("namespace") or "default"
        for claim in claims_of(pod):
            pvc = self.pvcs.get(f"{ns}/{claim}")
            if pvc is None or phase(pvc) == "Bound" or _spec(pvc).get("volumeName"):
                continue
            pvc = with_effective_class(pvc, self.classes.list())
            cls = self.classes.get(_spec(pvc).get("storageClassName") or "")
            if cls is None or cls.get("volumeBindingMode") != WAIT_FOR_FIRST_CONSUMER:
                continue
            if (_meta(pvc).get("annotations") or {}).get(SELECTED_NODE) == node:
                continue
            await self.client.patch("persistentvolumeclaims", claim, ns,
                                    {"metadata": {"annotations": {SELECTED_NODE: node}}}, raw=True)


def _key(o: Obj) -> str:
    meta = _meta(o)
    return f"{meta.get('namespace') or 'default'}/{meta['name']}"


_background: set[asyncio.Task[None]] = set()


def _spawn(coro: Coroutine[Any, Any, Any]) -> None:
    """Record an event in the background (best effort, never blocks a reconcile)."""

    async def quiet() -> None:
        try:
            await coro
        except Exception as e:  # noqa: BLE001 - events are best effort
            log.debug("event not recorded: %s", e)

    task = asyncio.get_running_loop().create_task(quiet())
    _background.add(task)
    task.add_done_callback(_background.discard)
