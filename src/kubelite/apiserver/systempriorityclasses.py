"""The system PriorityClasses, created by the API server at start as kube-apiserver's
`scheduling/bootstrap-system-priority-classes` post-start hook does (pkg/registry/scheduling/
rest/storage_scheduling.go): a missing one is created, an existing one is left as it is."""

from __future__ import annotations

import contextlib

from kubelite.api import status as st
from kubelite.api.priority import SYSTEM_PRIORITY_CLASSES
from kubelite.api.registry import by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.rest import ObjectStore, WriteOptions

PRIORITY_CLASSES = by_resource("scheduling.k8s.io", "v1", "priorityclasses")
FIELD_MANAGER = "kube-apiserver"


async def ensure_system_priority_classes(store: ObjectStore) -> list[str]:
    """Create every system class that does not exist; returns the names created."""
    assert PRIORITY_CLASSES is not None
    created = []
    for spc in SYSTEM_PRIORITY_CLASSES:
        if await store.store.get(objects.object_key(PRIORITY_CLASSES, None, spc.name)) is not None:
            continue
        body = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": spc.name}, "value": spc.value,
                "description": spc.description}
        with contextlib.suppress(st.AlreadyExists):  # another API server was quicker
            await store.create(PRIORITY_CLASSES, None, body,
                               WriteOptions(field_manager=FIELD_MANAGER))
            created.append(spc.name)
    return created
