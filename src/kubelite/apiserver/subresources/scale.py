"""The scale subresource (deployments/scale, replicasets/scale), spoken as autoscaling/v1 Scale."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from kubelite.api import status as st
from kubelite.api.crd.kinds import ScalePaths
from kubelite.api.patch import PatchError, apply_json_patch, apply_merge_patch
from kubelite.api.registry import Kind
from kubelite.api.selectors import label_selector_from_struct
from kubelite.apiserver import objects
from kubelite.apiserver.decoding import check_shape
from kubelite.apiserver.negotiation import decode_body, media_type
from kubelite.apiserver.paths import ResourcePath
from kubelite.apiserver.responses import json_response
from kubelite.apiserver.rest import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH

if TYPE_CHECKING:
    from kubelite.apiserver.handlers import ResourceHandlers

SCALE = "io.k8s.api.autoscaling.v1.Scale"


def _selector(sel: dict[str, Any] | None) -> str:
    if sel is None:
        return ""
    if all(isinstance(v, str) for v in sel.values()):
        # a map selector (a ReplicationController's): every entry an equality
        return ",".join(f"{k}={v}" for k, v in sorted(sel.items()))
    try:
        return str(label_selector_from_struct(sel))
    except ValueError:
        return ""


def _at(obj: dict[str, Any], path: str) -> Any:
    """The value at a CRD's scale path (".spec.replicas"), or None."""
    value: Any = obj
    for part in path.lstrip(".").split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _custom_scale(obj: dict[str, Any], paths: ScalePaths) -> dict[str, Any]:
    """A custom kind's Scale, from the paths of its CRD's scale subresource."""
    spec_replicas = _at(obj, paths.spec_replicas)
    status_replicas = _at(obj, paths.status_replicas)
    selector = _at(obj, paths.label_selector) if paths.label_selector else None
    scale = _scale_frame(obj)
    scale["spec"] = {"replicas": spec_replicas if isinstance(spec_replicas, int) else 0}
    scale["status"] = {"replicas": status_replicas if isinstance(status_replicas, int) else 0}
    if isinstance(selector, str) and selector:
        scale["status"]["selector"] = selector
    return scale


def _scale_frame(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
    }


def replicas_patch(kind: Kind, replicas: int) -> dict[str, Any]:
    """The merge patch that sets a scale's replicas on the object itself."""
    path = kind.custom.scale.spec_replicas if kind.custom is not None else ".spec.replicas"
    patch: dict[str, Any] = {}
    node = patch
    parts = path.lstrip(".").split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = replicas
    return patch


def scale_of(obj: dict[str, Any], kind: Kind | None = None) -> dict[str, Any]:
    """The Scale of an object: a built-in kind's from spec.replicas and spec.selector, a
    custom kind's from the paths its CRD names."""
    if kind is not None and kind.custom is not None and kind.custom.scale is not None:
        return _custom_scale(obj, kind.custom.scale)
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    scale = _scale_frame(obj)
    scale["spec"] = {"replicas": spec.get("replicas", 1)}
    scale["status"] = {"replicas": status.get("replicas", 0), "selector": _selector(spec.get("selector"))}
    return scale


async def serve(handlers: ResourceHandlers, request: web.Request, path: ResourcePath) -> web.Response:
    """GET, PUT and PATCH of KIND/NAME/scale."""
    return json_response(await handle_scale(handlers, request, path))


async def handle_scale(handlers: ResourceHandlers, request: web.Request, path: ResourcePath) -> dict[str, Any]:
    assert path.name is not None
    store = handlers.store
    current = objects.decode(await store.get(path.kind, path.namespace, path.name))
    if request.method == "GET":
        return scale_of(current, path.kind)
    if request.method not in ("PUT", "PATCH"):
        raise st.MethodNotAllowed("the server does not allow this method on the requested resource")
    raw = await request.read()
    scale = scale_of(current, path.kind)
    if request.method == "PUT":
        wanted = decode_body(raw, request.headers.get("Content-Type", "application/json"))
    else:
        patch_type = media_type(request.headers.get("Content-Type", ""))
        body = decode_body(raw, "application/yaml" if patch_type == APPLY_PATCH else "application/json")
        try:
            if patch_type == JSON_PATCH:
                wanted = apply_json_patch(scale, body)
            elif patch_type in (MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH):
                wanted = apply_merge_patch(scale, body)
            else:
                raise st.UnsupportedMediaType(f"unsupported patch type {patch_type}")
        except PatchError as e:
            raise st.BadRequest(str(e)) from None
    if not isinstance(wanted, dict):
        raise st.BadRequest("Scale must be a JSON object")
    check_shape(wanted, SCALE)
    replicas = (wanted.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise st.Invalid(
            f'Scale.autoscaling "{path.name}" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0',
            causes=[{"reason": "FieldValueInvalid", "message": "Invalid value", "field": "spec.replicas"}],
        )
    rv = (wanted.get("metadata") or {}).get("resourceVersion")
    patch = replicas_patch(path.kind, replicas)
    if rv:
        patch["metadata"] = {"resourceVersion": rv}
    result = await store.patch(path.kind, path.namespace, path.name, MERGE_PATCH, patch, handlers.write_options(request))
    return scale_of(result.obj, path.kind)
