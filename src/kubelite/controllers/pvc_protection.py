"""The `kubernetes.io/pvc-protection` and `kubernetes.io/pv-protection` finalizers.

Every claim and volume gets its finalizer. A deleted claim keeps it while a pod that is not
finished (phase other than Succeeded/Failed) uses it, so its data is not pulled from under a
running pod; a deleted volume keeps it while it is Bound. (Kubernetes adds the finalizers in
admission, at create; here the controllers add them just after.)
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.client import ApiClient, NotFound
from kubelite.controllers.base import Controller
from kubelite.controllers.pv_binder import claims_of, phase

log = logging.getLogger(__name__)

Obj = dict[str, Any]

PVC_FINALIZER = "kubernetes.io/pvc-protection"
PV_FINALIZER = "kubernetes.io/pv-protection"


def pod_uses_claim(pod: Obj, claim: str) -> bool:
    """A pod holds a claim until it has finished (or is gone)."""
    return phase(pod) not in ("Succeeded", "Failed") and claim in claims_of(pod)


def with_finalizer(obj: Obj, finalizer: str, present: bool) -> Obj | None:
    """The object with the finalizer added or removed; None when nothing changes."""
    finalizers = list((obj.get("metadata") or {}).get("finalizers") or [])
    if (finalizer in finalizers) == present:
        return None
    finalizers = finalizers + [finalizer] if present else [f for f in finalizers if f != finalizer]
    return {**obj, "metadata": {**obj["metadata"], "finalizers": finalizers}}


class PVCProtectionController(Controller):
    name = "pvc-protection"

    def setup(self) -> None:
        self.pvcs = self.informer("persistentvolumeclaims", raw=True)
        self.pods = self.informer("pods", raw=True)
        self.pvcs.on_add(self._enqueue)
        self.pvcs.on_update(lambda _o, n: self._enqueue(n))
        self.pods.on_update(lambda _o, n: self._pod(n))
        self.pods.on_delete(self._pod)

    def _enqueue(self, pvc: Obj) -> None:
        meta = pvc["metadata"]
        self.queue.add(f"{meta.get('namespace') or 'default'}/{meta['name']}")

    def _pod(self, pod: Obj) -> None:
        ns = pod["metadata"].get("namespace") or "default"
        for claim in claims_of(pod):
            self.queue.add(f"{ns}/{claim}")

    async def reconcile(self, key: str) -> float | None:
        pvc = self.pvcs.get(key)
        if pvc is None:
            return None
        deleting = bool(pvc["metadata"].get("deletionTimestamp"))
        if not deleting:
            updated = with_finalizer(pvc, PVC_FINALIZER, True)
        else:
            if await self._in_use(key):
                return None
            updated = with_finalizer(pvc, PVC_FINALIZER, False)
        if updated is not None:
            try:
                await self.client.update("persistentvolumeclaims", updated, raw=True)
            except NotFound:
                pass
        return None

    async def _in_use(self, key: str) -> bool:
        ns, _, claim = key.partition("/")
        if any(pod_uses_claim(p, claim) for p in self.pods.list()
               if (p["metadata"].get("namespace") or "default") == ns):
            return True
        # The cache may lag a pod just created: ask the server before letting go.
        live = await self.client.list("pods", ns, raw=True)
        return any(pod_uses_claim(p, claim) for p in live.items)


class PVProtectionController(Controller):
    name = "pv-protection"

    def __init__(self, client: ApiClient) -> None:
        super().__init__(client)

    def setup(self) -> None:
        self.pvs = self.informer("persistentvolumes", raw=True)
        self.pvs.on_add(lambda o: self.queue.add(o["metadata"]["name"]))
        self.pvs.on_update(lambda _o, n: self.queue.add(n["metadata"]["name"]))

    async def reconcile(self, key: str) -> float | None:
        pv = self.pvs.get(key)
        if pv is None:
            return None
        deleting = bool(pv["metadata"].get("deletionTimestamp"))
        if deleting and phase(pv) == "Bound":
            return None
        updated = with_finalizer(pv, PV_FINALIZER, not deleting)
        if updated is not None:
            try:
                await self.client.update("persistentvolumes", updated, raw=True)
            except NotFound:
                pass
        return None
