"""OpenAPI of custom kinds, as apiextensions-apiserver publishes it (controller/openapi/builder):
each served version's schema with apiVersion, kind and metadata filled in, the List beside
it, and x-kubernetes-group-version-kind, so `kubectl explain` reads it like a built-in kind.

Schemas are returned in OpenAPI v3 form (refs `#/components/schemas/NAME`); `to_v2` turns one
into swagger 2.0 the way Kubernetes does (no nullable, anyOf, oneOf, allOf or not)."""

from __future__ import annotations

import copy
from typing import Any

from kubelite.api.registry import Kind

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"
_API_VERSION = ("APIVersion defines the versioned schema of this representation of an object. "
                "Servers should convert recognized schemas to the latest internal value, and may "
                "reject unrecognized values. More info: https://git.k8s.io/community/contributors/"
                "devel/sig-architecture/api-conventions.md#resources")
_KIND = ("Kind is a string value representing the REST resource this object represents. Servers "
         "may infer this from the endpoint the client submits requests to. Cannot be updated. In "
         "CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/"
         "api-conventions.md#types-kinds")
_METADATA = ("Standard object's metadata. More info: https://git.k8s.io/community/contributors/"
             "devel/sig-architecture/api-conventions.md#metadata")
_V2_DROPPED = ("nullable", "anyOf", "oneOf", "allOf", "not", "x-kubernetes-validations")


def schema_name(kind: Kind) -> str:
    return ".".join([*reversed(kind.group.split(".")), kind.version, kind.kind])


def _gvk(kind: Kind, name: str) -> list[dict[str, str]]:
    return [{"group": kind.group, "kind": name, "version": kind.version}]


_OPAQUE: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def object_schema(kind: Kind) -> dict[str, Any]:
    """The kind's schema: the CRD's openAPIV3Schema with the standard top-level fields (an
    opaque object where the schema is missing or not structural: validation refuses those, and
    one bad CRD must not break the documents of every other kind)."""
    raw = kind.custom.raw_schema
    usable = isinstance(raw, dict) and isinstance(raw.get("properties", {}), dict)
    raw = copy.deepcopy(raw if usable else _OPAQUE)
    props: dict[str, Any] = raw.setdefault("properties", {})
    props["apiVersion"] = {"description": _API_VERSION, "type": "string"}
    props["kind"] = {"description": _KIND, "type": "string"}
    props["metadata"] = {"allOf": [{"$ref": V3_PREFIX + META + "ObjectMeta"}], "description": _METADATA}
    raw["type"] = "object"
    raw["x-kubernetes-group-version-kind"] = _gvk(kind, kind.kind)
    return raw


def list_schema(kind: Kind) -> dict[str, Any]:
    return {
        "description": f"{kind.kind}List is a list of {kind.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": _API_VERSION, "type": "string"},
            "items": {"description": f"List of {kind.plural}. More info: https://git.k8s.io/community/"
                                     "contributors/devel/sig-architecture/api-conventions.md",
                      "type": "array", "items": {"$ref": V3_PREFIX + schema_name(kind)}},
            "kind": {"description": _KIND, "type": "string"},
            "metadata": {"allOf": [{"$ref": V3_PREFIX + META + "ListMeta"}],
                         "description": "Standard list metadata. More info: https://git.k8s.io/"
                                        "community/contributors/devel/sig-architecture/"
                                        "api-conventions.md#types-kinds"},
        },
        "x-kubernetes-group-version-kind": _gvk(kind, kind.kind + "List"),
    }


def schemas(kinds: list[Kind]) -> dict[str, dict[str, Any]]:
    """Component schemas (v3) of these custom kinds, by name."""
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        if kind.custom is None:
            continue
        out[schema_name(kind)] = object_schema(kind)
        out[schema_name(kind) + "List"] = list_schema(kind)
    return out


def to_v2(node: Any) -> Any:
    """A v3 schema as swagger 2.0: refs to #/definitions, what 2.0 cannot say left out
    (an int-or-string field loses its type, as Kubernetes publishes it)."""
    if isinstance(node, list):
        return [to_v2(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _V2_DROPPED:
            continue
        if key == "$ref" and isinstance(value, str):
            out[key] = V2_PREFIX + value.rsplit("/", 1)[-1]
        elif key in ("properties", "patternProperties", "definitions") and isinstance(value, dict):
            out[key] = {k: to_v2(v) for k, v in value.items()}
        else:
            out[key] = to_v2(value)
    if "allOf" in node and len(node["allOf"]) == 1 and "$ref" in node["allOf"][0]:
        out["$ref"] = V2_PREFIX + node["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    return out
