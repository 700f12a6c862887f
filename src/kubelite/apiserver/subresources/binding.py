"""pods/binding (and a Binding POSTed to its collection): the scheduler's way to assign a pod
to a node."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.api.types.core_v1 import PodCondition, PodStatus
from kubelite.apiserver import objects
from kubelite.apiserver.decoding import check_shape
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.responses import json_response
from kubelite.apiserver.rest import ObjectStore, WriteOptions, now_rfc3339
from kubelite.apiserver.storeerrors import translated

if TYPE_CHECKING:
    from kubelite.apiserver.handlers import ResourceHandlers

BINDING = "io.k8s.api.core.v1.Binding"
SUCCESS = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


async def serve(handlers: ResourceHandlers, request: web.Request, path: ResourcePath) -> web.Response:
    """POST pods/NAME/binding, or a Binding naming its pod: a Success Status (201)."""
    body = await handlers.object_body(request, path)
    check_shape(body, BINDING)
    meta = body.get("metadata") or {}
    pod_name = path.name or meta.get("name")
    node = (body.get("target") or {}).get("name")
    if not pod_name or not node:
        raise st.Invalid("Binding is invalid: target.name: Required value", causes=[{"reason": "FieldValueRequired", "message": "Required value", "field": "target.name"}])
    pods = by_resource("", "v1", "pods")
    assert pods is not None
    await bind_pod(handlers.store, pods, path.namespace or "default", pod_name, node,
                   meta.get("uid"), handlers.write_options(request))
    return json_response(SUCCESS, 201)


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
