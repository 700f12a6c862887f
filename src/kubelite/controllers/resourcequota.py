"""ResourceQuota: what each quota's namespace uses, written to `status.used` (and `status.hard`).

The arithmetic lives in `kubelite.api.quota`, shared with the API server's quota admission.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api.quantity import canonical, parse_quantity
from kubelite.api.quota import counted_plural, quota_hard, used_by_pods
from kubelite.client import NotFound
from kubelite.controllers.base import Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]

RESYNC_SECONDS = 30.0


# -- the controller -------------------------------------------------------------------------

class ResourceQuotaController(Controller):
    """Keeps every quota's `status.hard` equal to `spec.hard` and `status.used` current."""

    name = "resourcequota"

    def setup(self) -> None:
        self.quotas = self.informer("resourcequotas", raw=True)
        self.pods = self.informer("pods", raw=True)
        self.pods.add_indexer("namespace", lambda p: [(p.get("metadata") or {}).get("namespace", "")])
        self.quotas.on_add(lambda q: self.queue.add(_key(q)))
        self.quotas.on_update(lambda _old, q: self.queue.add(_key(q)))
        self.pods.on_add(self._pod_changed)
        self.pods.on_update(lambda _old, p: self._pod_changed(p))
        self.pods.on_delete(self._pod_changed)

    def _pod_changed(self, pod: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace", "")
        for q in self.quotas.list():
            if (q.get("metadata") or {}).get("namespace") == ns:
                self.queue.add(_key(q))

    async def _count(self, namespace: str, plural: str) -> int:
        result = await self.client.list(plural, namespace, raw=True)
        return len(result.items)

    async def desired_status(self, quota: Obj) -> Obj:
        ns = (quota.get("metadata") or {}).get("namespace", "")
        hard = quota_hard(quota)
        used = used_by_pods(quota, self.pods.by_index("namespace", ns))
        for name in hard:
            target = counted_plural(name)
            if target is not None:
                try:
                    used[name] = parse_quantity(await self._count(ns, target[0]))
                except Exception as e:  # noqa: BLE001 - a kind we do not serve counts nothing
                    log.debug("counting %s in %s: %s", target[0], ns, e)
                    used[name] = parse_quantity(0)
        return {"hard": {k: canonical(v) for k, v in hard.items()},
                "used": {k: canonical(v) for k, v in used.items()}}

    async def reconcile(self, key: str) -> float | None:
        quota = self.quotas.get(key)
        if quota is None:
            return None
        status = await self.desired_status(quota)
        if quota.get("status") == status:
            return RESYNC_SECONDS
        body = {**quota, "status": status}
        try:
            await self.client.update("resourcequotas", body, subresource="status", raw=True)
        except NotFound:
            return None
        return RESYNC_SECONDS


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"
