"""pods/binding: the scheduler's way to assign a pod to a node."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api import status as st
from kubelite.api.registry import Kind
from kubelite.api.types.core_v1 import PodCondition, PodStatus
from kubelite.apiserver import objects
from kubelite.apiserver.rest import ObjectStore, WriteOptions, now_rfc3339
from kubelite.apiserver.storeerrors import translated


async def bind_pod(
    store: ObjectStore, pods: Kind, namespace: str, name: str, node: str, uid: str | None,
    opts: WriteOptions,
) -> None:
    """Set spec.nodeName and the PodScheduled condition, as the Kubernetes binding REST does."""
    key = objects.object_key(pods, namespace, name)
    for _ in range(10):
        kv = await store.store.get(key)
        if kv is None:
            raise st.not_found("pods", name)
        pod: Any = msgspec.json.decode(kv.value, type=pods.type)
        if uid and pod.metadata.uid != uid:
            raise st.conflict("pods", name, f"Precondition failed: UID in precondition: {uid}, UID in object meta: {pod.metadata.uid}")
        if pod.metadata.deletion_timestamp:
            raise st.conflict("pods", name, "pod is being deleted, cannot be assigned to a host")
        if pod.spec.node_name:
            raise st.conflict("pods", name, f'pod {name} is already assigned to node "{pod.spec.node_name}"')
        pod.spec.node_name = node
        if pod.status is None:
            pod.status = PodStatus()
        conditions = [c for c in (pod.status.conditions or []) if c.type != "PodScheduled"]
        conditions.append(PodCondition(type="PodScheduled", status="True", last_transition_time=now_rfc3339()))
        pod.status.conditions = conditions
        if opts.dry_run:
            return
        try:
            with translated(pods, name, "update"):  # a pod deleted meanwhile: 404
                await store.store.update(key, objects.encode_for_store(pod), kv.mod_revision)
            return
        except st.Conflict:
            continue
    raise st.conflict("pods", name, st.STALE_OBJECT)
