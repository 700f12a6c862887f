"""Component schemas: api/definitions.json (JSON schema) turned into OpenAPI v3 or v2.

JSON schema spells optional fields `type: [X, "null"]` and refs `#/$defs/NAME`; OpenAPI
wants `type: X` and `#/components/schemas/NAME` (v3, wrapped in allOf when the ref has
a description beside it, as Kubernetes does) or `#/definitions/NAME` (v2).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from kubelite.api import registry
from kubelite.api.openapi.meta import EXTRA_SCHEMAS, META

DEFS_PREFIX = "#/$defs/"
V3_PREFIX = "#/components/schemas/"
V2_PREFIX = "#/definitions/"

# Keys copied as they are (besides x-kubernetes-*).
_PLAIN_KEYS = ("description", "format", "required", "enum", "readOnly", "uniqueItems")


@cache
def definitions() -> dict[str, dict[str, Any]]:
    """Every schema kubelite serves, in the JSON-schema dialect, keyed by definition name."""
    path = Path(registry.__file__).with_name("definitions.json")
    defs: dict[str, dict[str, Any]] = json.loads(path.read_text())
    defs.update(EXTRA_SCHEMAS)
    # WatchEvent is the response kind of every group version's watch operations.
    gvks = [{"group": g, "kind": "WatchEvent", "version": v} for g, v in registry.group_versions()]
    defs[META + "WatchEvent"] = {**defs[META + "WatchEvent"], "x-kubernetes-group-version-kind": gvks}
    return defs


def referenced(names: Iterable[str]) -> list[str]:
    """The given definitions plus everything they reference, sorted."""
    defs = definitions()
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        todo.extend(_refs(defs[name]))
    return sorted(seen)


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.rsplit("/", 1)[-1]
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def convert(schema: dict[str, Any], v3: bool, top: bool = True) -> dict[str, Any]:
    """One schema in OpenAPI form (v3 when v3 is true, else swagger 2.0)."""
    out: dict[str, Any] = {}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = (V3_PREFIX if v3 else V2_PREFIX) + ref.rsplit("/", 1)[-1]
        if v3 and "description" in schema:
            out["allOf"] = [{"$ref": target}]
        else:
            out["$ref"] = target
    for key in _PLAIN_KEYS:
        if key in schema:
            out[key] = schema[key]
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if isinstance(kind, str):
        out["type"] = kind
    if "properties" in schema:
        out["properties"] = {
            name: _property(name, prop, v3, top) for name, prop in sorted(schema["properties"].items())
        }
    if isinstance(schema.get("items"), dict):
        out["items"] = convert(schema["items"], v3, False)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = convert(extra, v3, False)
    elif isinstance(extra, bool) and extra:
        out["additionalProperties"] = True
    for key, value in schema.items():
        if key.startswith("x-kubernetes-"):
            out[key] = value
    return dict(sorted(out.items()))


def _property(name: str, prop: dict[str, Any], v3: bool, top: bool) -> dict[str, Any]:
    converted = convert(prop, v3, False)
    if top and name in ("apiVersion", "kind"):
        converted.pop("enum", None)  # Kubernetes does not publish these as enums
    return converted
