"""Swagger 2.0 from the v3 operations: what kubectl 1.27/1.28 fetch as /openapi/v2.

The v3 paths are rewritten mechanically: parameter schemas are flattened into the
parameter, request bodies become `in: body` parameters, response contents become a
schema plus the operation's `produces`, and refs point at #/definitions/.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.openapi.schemas import V2_PREFIX, V3_PREFIX

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def _refs_to_v2(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = value.replace(V3_PREFIX, V2_PREFIX)
            else:
                out[key] = _refs_to_v2(value)
        return out
    if isinstance(node, list):
        return [_refs_to_v2(v) for v in node]
    return node


def parameter(param: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in param.items() if k != "schema"}
    out.update(param.get("schema", {}))
    return out


def operation(op: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    params: list[dict[str, Any]] = []
    body = op.get("requestBody")
    if body is not None:
        media = list(body["content"])
        schema = next(iter(body["content"].values()))["schema"]
        params.append({"in": "body", "name": "body", "required": True, "schema": _refs_to_v2(schema)})
        out["consumes"] = media
    else:
        out["consumes"] = ["*/*"]
    params.extend(parameter(p) for p in op.get("parameters", []))
    produces: list[str] = []
    responses: dict[str, Any] = {}
    for code, response in op["responses"].items():
        converted: dict[str, Any] = {"description": response["description"]}
        for media, content in response.get("content", {}).items():
            converted["schema"] = _refs_to_v2(content["schema"])
            if media not in produces:
                produces.append(media)
        responses[code] = converted
    out["description"] = op["description"]
    out["operationId"] = op["operationId"]
    if params:
        out["parameters"] = params
    out["produces"] = produces
    out["responses"] = responses
    out["schemes"] = ["https"]
    out["tags"] = op["tags"]
    for key, value in op.items():
        if key.startswith("x-"):
            out[key] = value
    return out


def path_item(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method in METHODS:
        if method in item:
            out[method] = operation(item[method])
    if "parameters" in item:
        out["parameters"] = [parameter(p) for p in item["parameters"]]
    return out
