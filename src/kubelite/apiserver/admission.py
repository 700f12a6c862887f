"""Admission checks that need the cluster's state (run after validation, before the write)."""

from __future__ import annotations

from typing import Any

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver import objects
from kubelite.store.interface import Store

NAMESPACES = by_resource("", "v1", "namespaces")


class NamespaceLifecycle:
    """New objects need an existing namespace that is not being deleted."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if old is not None or not kind.namespaced or not namespace:
            return
        assert NAMESPACES is not None
        kv = await self.store.get(objects.object_key(NAMESPACES, None, namespace))
        if kv is None:
            raise st.not_found("namespaces", namespace)
        if kind.kind in ("Event",):
            return
        ns = objects.decode(kv.value)
        if ns.get("metadata", {}).get("deletionTimestamp") or ns.get("status", {}).get("phase") == "Terminating":
            raise st.Forbidden(
                f'{kind.plural} "{obj.metadata.name}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                name=obj.metadata.name or "", group=kind.group, kind=kind.plural,
            )
