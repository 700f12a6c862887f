"""A CRD schema's size and keyword types, checked before any recursive pass.

Bounded first (depth and node count, walked iteratively), then each keyword must hold the JSON
type JSONSchemaProps gives it, which Kubernetes gets from typed decoding; the later passes rely
on both. Also the small helpers the schema passes share.
"""

from __future__ import annotations

import json
from typing import Any

from kubelite.api.validation.errors import FieldError, GoValue, forbidden, invalid

# JSON nesting levels below openAPIV3Schema; deeper is refused, not recursed into (a decoded
# body is cut at api/decoding.WALK_DEPTH = 100 levels, and the schema sits ~6 levels down).
MAX_DEPTH = 90
MAX_NODES = 100_000


def properties_of(s: dict[str, Any]) -> dict[str, Any]:
    """A schema's properties, {} when absent or malformed."""
    p = s.get("properties")
    return p if isinstance(p, dict) else {}


def key_path(path: str, k: str) -> str:
    """`path.properties[k]`, as field.Path's Child("properties").Key(k) prints."""
    return f"{path}.properties[{k}]"


def go_json(value: Any) -> Any:
    """A bad value for a field error: objects and lists as compact JSON, unquoted."""
    if isinstance(value, dict | list):
        return GoValue(json.dumps(value, separators=(",", ":")))
    return value


def bounded(schema: Any, path: str) -> list[FieldError]:
    """Refuse schemas too deep or too large to walk safely (before any recursive pass)."""
    stack = [(schema, 0, path)]
    count = 0
    while stack:
        node, depth, where = stack.pop()
        count += 1
        if count > MAX_NODES:
            return [forbidden(path, f"must not have more than {MAX_NODES} schema nodes")]
        if depth > MAX_DEPTH:
            return [forbidden(where, f"must not be nested more than {MAX_DEPTH} levels deep")]
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("default", "enum", "example", "x-kubernetes-validations",
                         "required", "x-kubernetes-list-map-keys"):
                    continue
                if isinstance(v, dict | list):
                    stack.append((v, depth + 1, f"{where}.{k}"))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, dict | list):
                    stack.append((v, depth, f"{where}[{i}]"))
    return []


_CONTAINERS: tuple[tuple[str, type, str], ...] = (
    *((k, dict, "a map of schemas") for k in ("properties", "patternProperties", "definitions",
                                              "dependencies")),
    *((k, list, "a list of schemas") for k in ("allOf", "anyOf", "oneOf")))
_NUMBERS = ("maximum", "minimum", "multipleOf")
_INTEGERS = ("maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties")
_BOOLS = ("exclusiveMaximum", "exclusiveMinimum", "uniqueItems", "nullable",
          "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource",
          "x-kubernetes-preserve-unknown-fields")
_STRINGS = ("type", "format", "pattern", "description", "title", "id", "$schema", "$ref",
            "x-kubernetes-list-type", "x-kubernetes-map-type")
_RULE_STRINGS = ("rule", "message", "messageExpression", "reason", "fieldPath")
_SCALAR_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    **{k: ((int, float), "a number") for k in _NUMBERS},
    **{k: ((int,), "an integer") for k in _INTEGERS},
    **{k: ((bool,), "a boolean") for k in _BOOLS},
    **{k: ((str,), "a string") for k in _STRINGS},
}


def shape(schema: dict[str, Any], path: str) -> list[FieldError]:
    """Every keyword holds the JSON type JSONSchemaProps gives it (the typed decoding
    Kubernetes does first); later passes rely on it. Iterative, so any depth is safe."""
    errs: list[FieldError] = []
    stack: list[tuple[Any, str]] = [(schema, path)]
    while stack and len(errs) < 20:
        node, where = stack.pop()
        if not isinstance(node, dict):
            errs.append(invalid(where, go_json(node), "must be a schema object"))
            continue
        for key, kind, words in _CONTAINERS:
            value = node.get(key)
            if value is None:
                continue
            if not isinstance(value, kind):
                errs.append(invalid(f"{where}.{key}", go_json(value), f"must be {words}"))
            elif key == "properties" and isinstance(value, dict):
                stack.extend((v, key_path(where, k)) for k, v in value.items())
            elif isinstance(value, list):
                stack.extend((v, f"{where}.{key}[{i}]") for i, v in enumerate(value))
        for key in ("not", "items"):
            value = node.get(key)
            if value is None or isinstance(value, list) and key == "items":
                continue
            stack.append((value, f"{where}.{key}"))
        additional = node.get("additionalProperties")
        if additional is not None and not isinstance(additional, bool):
            stack.append((additional, f"{where}.additionalProperties"))
        for key, value in node.items():
            expected = _SCALAR_KINDS.get(key)
            if expected is not None and value is not None:
                kinds, words = expected
                if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
                    errs.append(invalid(f"{where}.{key}", go_json(value), f"must be {words}"))
        for key in ("required", "x-kubernetes-list-map-keys"):
            value = node.get(key)
            if value is not None and not (isinstance(value, list)
                                          and all(isinstance(v, str) for v in value)):
                errs.append(invalid(f"{where}.{key}", go_json(value), "must be a list of strings"))
        if node.get("enum") is not None and not isinstance(node["enum"], list):
            errs.append(invalid(f"{where}.enum", go_json(node["enum"]), "must be a list"))
        rules = node.get("x-kubernetes-validations")
        if rules is not None:
            if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
                errs.append(invalid(f"{where}.x-kubernetes-validations", go_json(rules),
                                    "must be a list of rules"))
            else:
                for i, rule in enumerate(rules):
                    for key in _RULE_STRINGS:
                        if rule.get(key) is not None and not isinstance(rule[key], str):
                            errs.append(invalid(f"{where}.x-kubernetes-validations[{i}].{key}",
                                                go_json(rule[key]), "must be a string"))
    return errs
