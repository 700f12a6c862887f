"""Namespace lifecycle: a deleted namespace is emptied, then finalized, then removed."""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api.crd.kinds import kinds_of
from kubelite.api.registry import KINDS, Kind, by_resource
from kubelite.client import ApiError, NotFound
from kubelite.controllers.base import Controller

log = logging.getLogger(__name__)

# Kinds whose objects go with their namespace (everything namespaced that can be deleted).
CONTENT_KINDS = [k for k in KINDS if k.namespaced and "delete" in k.verbs and k.kind != "Event"]
EVENTS = next(k for k in KINDS if k.kind == "Event")
CRDS = by_resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")


async def custom_content_kinds(client: Any) -> list[Kind]:
    """The namespaced kinds of every Established CRD (Kubernetes finds them by discovery)."""
    assert CRDS is not None
    kinds = []
    for crd in (await client.list(CRDS, raw=True)).items:
        served = kinds_of(crd, with_schema=False)
        if served and served[0].namespaced:
            kinds.append(served[0])
    return kinds


class NamespaceController(Controller):
    """Deletes everything in a Terminating namespace, then removes the `kubernetes` finalizer."""

    name = "namespace"

    def setup(self) -> None:
        namespaces = self.informer("namespaces", raw=True)

        def enqueue(obj: dict[str, Any], *_: Any) -> None:
            if obj["metadata"].get("deletionTimestamp"):
                self.queue.add(obj["metadata"]["name"])

        namespaces.on_add(enqueue)
        namespaces.on_update(lambda old, new: enqueue(new))
        self.namespaces = namespaces

    async def reconcile(self, key: str) -> float | None:
        ns = self.namespaces.get_by_name(key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return None
        remaining = 0
        for kind in CONTENT_KINDS + await custom_content_kinds(self.client):
            items = (await self.client.list(kind, key, raw=True)).items
            for obj in items:
                remaining += 1
                if obj["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    await self.client.delete(kind, obj["metadata"]["name"], key, propagation_policy="Background")
                except NotFound:
                    remaining -= 1
        if remaining:
            return 1.0  # pods may need their kubelet to finish; look again soon
        for event in (await self.client.list(EVENTS, key, raw=True)).items:
            try:
                await self.client.delete(EVENTS, event["metadata"]["name"], key)
            except NotFound:
                pass
        spec = dict(ns.get("spec") or {})
        if spec.get("finalizers"):
            spec["finalizers"] = [f for f in spec["finalizers"] if f != "kubernetes"]
            body = dict(ns, spec=spec)
            try:
                await self.client.request("PUT", f"/api/v1/namespaces/{key}/finalize", body=body)
            except NotFound:
                return None
            except ApiError as e:
                log.warning("finalizing namespace %s: %s", key, e)
                raise
        return None
