"""Pruning of unknown fields, as apiextensions-apiserver's schema/pruning does.

A field the schema does not specify is dropped unless the node (or an ancestor up to the
next specified node) has x-kubernetes-preserve-unknown-fields. apiVersion, kind and metadata
are kept at the root and in x-kubernetes-embedded-resource objects. The dropped paths are
returned in Kubernetes' words for fieldValidation=Warn/Strict: `unknown field "spec.foo"`.
"""

from __future__ import annotations

from typing import Any

_META = ("apiVersion", "kind", "metadata")


def prune(obj: Any, schema: dict[str, Any]) -> list[str]:
    """Prune `obj` in place; return the paths removed (`spec.foo`, `spec.items[0].bar`)."""
    pruned: list[str] = []
    _prune(obj, schema, "", True, pruned)
    return pruned


def _prune(obj: Any, schema: dict[str, Any] | None, path: str, resource_root: bool,
           pruned: list[str]) -> None:
    if schema is None:
        return
    if isinstance(obj, dict):
        _prune_object(obj, schema, path, resource_root, pruned)
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(obj):
                _prune(item, items, f"{path}[{i}]", bool(items.get("x-kubernetes-embedded-resource")),
                       pruned)


def _prune_object(obj: dict[str, Any], schema: dict[str, Any], path: str, resource_root: bool,
                  pruned: list[str]) -> None:
    props: dict[str, Any] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    prefix = f"{path}." if path else ""
    for key in list(obj):
        child_path = f"{prefix}{key}"
        sub = props.get(key)
        if resource_root and key in _META:
            continue  # ObjectMeta and TypeMeta are the API machinery's, not the schema's
        if sub is not None:
            _prune(obj[key], sub, child_path, bool(sub.get("x-kubernetes-embedded-resource")),
                   pruned)
        elif isinstance(additional, dict):
            _prune(obj[key], additional, child_path,
                   bool(additional.get("x-kubernetes-embedded-resource")), pruned)
        elif additional is True or preserve:
            continue
        else:
            del obj[key]
            pruned.append(child_path)


def unknown_field_warnings(paths: list[str]) -> list[str]:
    """The warnings fieldValidation=Warn sends for pruned fields."""
    return [f'unknown field "{p}"' for p in paths]
