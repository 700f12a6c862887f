"""REST paths and operations of every kind, in OpenAPI v3 form, derived from the registry.

Mirrors what kube-apiserver publishes: collection and item paths, the all-namespaces
list, the deprecated /watch/ paths and each subresource, every operation tagged with
x-kubernetes-action and x-kubernetes-group-version-kind.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import registry
from kubelite.api.crd import openapi as crd_openapi
from kubelite.api.openapi import parameters as p
from kubelite.api.openapi.schemas import V3_PREFIX
from kubelite.api.registry import Kind, Subresource

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"]
STREAM_TYPES = ["application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"]
PATCH_TYPES = ["application/apply-patch+yaml", "application/json-patch+json",
               "application/merge-patch+json", "application/strategic-merge-patch+json"]

Operation = dict[str, Any]


def patch_types(kind: Kind) -> list[str]:
    """The patch bodies a kind takes: custom kinds have no strategic merge patch, and kubectl
    reads this list to choose how it patches (client-side apply, diff)."""
    if kind.custom is not None:
        return [t for t in PATCH_TYPES if t != "application/strategic-merge-patch+json"]
    return PATCH_TYPES


def _camel_group(kind: Kind) -> str:
    """Operation id fragment: "" -> CoreV1, coordination.k8s.io -> CoordinationV1."""
    group = kind.group.split(".")[0] if kind.group else "core"
    return group[0].upper() + group[1:] + kind.version[0].upper() + kind.version[1:]


def tag(kind: Kind) -> str:
    group = kind.group.split(".")[0] if kind.group else "core"
    return f"{group}_{kind.version}"


def schema_name(kind: Kind) -> str:
    """The component schema of a kind: its definition, or for a custom kind the name
    Kubernetes gives it (reversed group, version, kind: com.example.stable.v1.CronTab)."""
    if kind.custom is not None:
        return crd_openapi.schema_name(kind)
    return kind.definition


def _ref(definition: str) -> dict[str, str]:
    return {"$ref": V3_PREFIX + definition}


def _responses(schema: dict[str, Any] | None, codes: tuple[str, ...] = ("200",),
               media: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    descriptions = {"200": "OK", "201": "Created", "202": "Accepted"}
    for code in codes:
        body: dict[str, Any] = {"description": descriptions[code]}
        if schema is not None:
            body["content"] = {m: {"schema": schema} for m in (media or OBJECT_TYPES)}
        out[code] = body
    out["401"] = {"description": "Unauthorized"}
    return out


def _body(schema: dict[str, Any], media: list[str] | None = None) -> dict[str, Any]:
    return {"content": {m: {"schema": schema} for m in (media or ["*/*"])}, "required": True}


def _operation(kind: Kind, action: str, op_id: str, description: str, params: list[dict[str, Any]],
               responses: dict[str, Any], gvk: tuple[str, str, str] | None = None,
               body: dict[str, Any] | None = None) -> Operation:
    group, version, kind_name = gvk or (kind.group, kind.version, kind.kind)
    op: Operation = {
        "description": description,
        "operationId": op_id,
        "tags": [tag(kind)],
        "responses": responses,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": group, "kind": kind_name, "version": version},
    }
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    return op


def kind_paths(kind: Kind) -> dict[str, dict[str, Any]]:
    """Every path of one kind, mapped to its path item (operations + path parameters)."""
    prefix = kind.url_prefix()
    scope = f"{prefix}/namespaces/{{namespace}}" if kind.namespaced else prefix
    ns = "Namespaced" if kind.namespaced else ""
    gv = _camel_group(kind)
    k = kind.kind
    obj = _ref(schema_name(kind))
    status = _ref(META + "Status")
    name_param = p.path_param("name", f"name of the {k}")
    base = [p.NAMESPACE] if kind.namespaced else []
    verbs = set(kind.verbs)
    paths: dict[str, dict[str, Any]] = {}

    collection: dict[str, Any] = {}
    if "list" in verbs:
        collection["get"] = _operation(
            kind, "list", f"list{gv}{ns}{k}", f"list or watch objects of kind {k}", p.LIST,
            _responses(_ref(schema_name(kind) + "List"), media=OBJECT_TYPES + STREAM_TYPES))
    if "create" in verbs:
        collection["post"] = _operation(
            kind, "post", f"create{gv}{ns}{k}", f"create a {k}", p.WRITE,
            _responses(obj, ("200", "201", "202")), body=_body(obj))
    if "deletecollection" in verbs:
        collection["delete"] = _operation(
            kind, "deletecollection", f"delete{gv}Collection{ns}{k}", f"delete collection of {k}",
            p.DELETE_COLLECTION, _responses(status), body=_body(_ref(META + "DeleteOptions")))
    if collection:
        paths[f"{scope}/{kind.plural}"] = {**collection, "parameters": [*base, p.PRETTY]}

    item: dict[str, Any] = {}
    if "get" in verbs:
        item["get"] = _operation(kind, "get", f"read{gv}{ns}{k}", f"read the specified {k}", [],
                                 _responses(obj))
    if "update" in verbs:
        item["put"] = _operation(kind, "put", f"replace{gv}{ns}{k}", f"replace the specified {k}",
                                 p.WRITE, _responses(obj, ("200", "201")), body=_body(obj))
    if "patch" in verbs:
        item["patch"] = _operation(kind, "patch", f"patch{gv}{ns}{k}", f"partially update the specified {k}",
                                   p.PATCH, _responses(obj, ("200", "201")),
                                   body=_body(_ref(META + "Patch"), patch_types(kind)))
    if "delete" in verbs:
        item["delete"] = _operation(kind, "delete", f"delete{gv}{ns}{k}", f"delete a {k}", p.DELETE,
                                    _responses(status, ("200", "202")),
                                    body=_body(_ref(META + "DeleteOptions")))
    if item:
        paths[f"{scope}/{kind.plural}/{{name}}"] = {**item, "parameters": [name_param, *base, p.PRETTY]}

    if "watch" in verbs:
        event = _ref(META + "WatchEvent")
        watch_media = OBJECT_TYPES + STREAM_TYPES
        watch_scope = f"{prefix}/watch/namespaces/{{namespace}}" if kind.namespaced else f"{prefix}/watch"
        paths[f"{watch_scope}/{kind.plural}"] = {
            "get": _operation(kind, "watchlist", f"watch{gv}{ns}{k}List",
                              f"watch individual changes to a list of {k}. deprecated: use the 'watch' parameter with a list operation instead.",
                              [], _responses(event, media=watch_media)),
            "parameters": [*p.LIST[:5], *base, p.PRETTY, *p.LIST[5:]],
        }
        paths[f"{watch_scope}/{kind.plural}/{{name}}"] = {
            "get": _operation(kind, "watch", f"watch{gv}{ns}{k}",
                              f"watch changes to an object of kind {k}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.",
                              [], _responses(event, media=watch_media)),
            "parameters": [*p.LIST[:5], name_param, *base, p.PRETTY, *p.LIST[5:]],
        }
    if kind.namespaced and "list" in verbs:
        paths[f"{prefix}/{kind.plural}"] = {
            "get": _operation(kind, "list", f"list{gv}{k}ForAllNamespaces", f"list or watch objects of kind {k}",
                              [], _responses(_ref(schema_name(kind) + "List"), media=OBJECT_TYPES + STREAM_TYPES)),
            "parameters": [*p.LIST[:5], p.PRETTY, *p.LIST[5:]],
        }
        if "watch" in verbs:
            paths[f"{prefix}/watch/{kind.plural}"] = {
                "get": _operation(kind, "watchlist", f"watch{gv}{k}ListForAllNamespaces",
                                  f"watch individual changes to a list of {k}. deprecated: use the 'watch' parameter with a list operation instead.",
                                  [], _responses(_ref(META + "WatchEvent"), media=OBJECT_TYPES + STREAM_TYPES)),
                "parameters": [*p.LIST[:5], p.PRETTY, *p.LIST[5:]],
            }
    for sub in kind.subresources:
        path = f"{scope}/{kind.plural}/{{name}}/{sub.name}"
        item_params = [p.path_param("name", f"name of the {_sub_object(kind, sub)}"), *base]
        paths[path] = {**_subresource_ops(kind, sub, gv, ns), "parameters": item_params}
        if sub.name != "proxy" and sub.name not in ("exec", "attach", "portforward", "log", "binding", "eviction"):
            paths[path]["parameters"].append(p.PRETTY)
    return paths


def _sub_object(kind: Kind, sub: Subresource) -> str:
    """What the {name} parameter names: the parent for most subresources."""
    if sub.name in ("binding", "eviction"):
        return sub.kind[2] if sub.kind else kind.kind
    if sub.name in ("exec", "attach", "portforward"):
        return f"{kind.kind}{'PortForward' if sub.name == 'portforward' else sub.name.capitalize()}Options"
    if sub.name == "proxy":
        return f"{kind.kind}ProxyOptions"
    return sub.kind[2] if sub.kind else kind.kind


def _subresource_ops(kind: Kind, sub: Subresource, gv: str, ns: str) -> dict[str, Operation]:
    k, s = kind.kind, sub.name
    title = s[0].upper() + s[1:]
    gvk = sub.kind
    definition = registry.SUBRESOURCE_TYPES.get(gvk) if gvk else schema_name(kind)
    obj = _ref(definition or schema_name(kind))
    verbs = set(sub.verbs)
    ops: dict[str, Operation] = {}
    if s in ("exec", "attach", "portforward", "proxy"):
        params = {"exec": p.EXEC, "attach": p.ATTACH, "portforward": p.PORTFORWARD, "proxy": p.PROXY}[s]
        options = _sub_object(kind, sub)
        methods = {"get": "get", "create": "post", "update": "put", "patch": "patch", "delete": "delete"}
        for verb in ("get", "create", "update", "patch", "delete"):
            if verb in verbs:
                method = methods[verb]
                ops[method] = _operation(
                    kind, "connect", f"connect{gv}{method.capitalize()}{ns}{k}{title}",
                    f"connect {method.upper()} requests to {s} of {k}", params,
                    _responses({"type": "string"}, media=["*/*"]),
                    gvk=(kind.group, kind.version, options))
        return ops
    if s == "log":
        ops["get"] = _operation(kind, "get", f"read{gv}{ns}{k}Log", f"read log of the specified {k}",
                                p.LOG, _responses({"type": "string"}, media=["text/plain", *OBJECT_TYPES]),
                                gvk=(kind.group, kind.version, k))
        return ops
    if "create" in verbs:
        ops["post"] = _operation(kind, "post", f"create{gv}{ns}{k}{title}", f"create {s} of a {k}",
                                 p.WRITE, _responses(obj, ("200", "201", "202")), gvk=gvk, body=_body(obj))
    if "get" in verbs:
        ops["get"] = _operation(kind, "get", f"read{gv}{ns}{k}{title}", f"read {s} of the specified {k}",
                                [], _responses(obj), gvk=gvk)
    if "update" in verbs:
        ops["put"] = _operation(kind, "put", f"replace{gv}{ns}{k}{title}", f"replace {s} of the specified {k}",
                                p.WRITE, _responses(obj, ("200", "201")), gvk=gvk, body=_body(obj))
    if "patch" in verbs:
        ops["patch"] = _operation(kind, "patch", f"patch{gv}{ns}{k}{title}",
                                  f"partially update {s} of the specified {k}", p.PATCH,
                                  _responses(obj, ("200", "201")), gvk=gvk,
                                  body=_body(_ref(META + "Patch"), patch_types(kind)))
    return ops


def group_version_paths(group: str, version: str) -> dict[str, dict[str, Any]]:
    """All paths of one group version, sorted like kube-apiserver's documents."""
    paths: dict[str, dict[str, Any]] = {}
    for kind in registry.served_kinds():
        if (kind.group, kind.version) == (group, version):
            paths.update(kind_paths(kind))
    return dict(sorted(paths.items()))
