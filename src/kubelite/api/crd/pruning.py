"""Pruning of unknown fields, as apiextensions-apiserver's schema/pruning does.

A field the schema does not specify is dropped. Where a node has
x-kubernetes-preserve-unknown-fields, unknown fields stay and only the specified ones are
pruned below (this carries into the items of a preserving list). apiVersion, kind and metadata
are left alone at the root and in x-kubernetes-embedded-resource objects. A value with no schema
at all (under `additionalProperties: true`) keeps its scalars but loses every object field, as
Kubernetes' algorithm does. The dropped paths are returned in Kubernetes' words for
fieldValidation=Warn/Strict: `unknown field "spec.foo"`.
"""

from __future__ import annotations

from typing import Any

_META = ("apiVersion", "kind", "metadata")
_OBJECT_META = frozenset((  # metav1.ObjectMeta's JSON fields
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields"))


def prune(obj: Any, schema: dict[str, Any] | None) -> list[str]:
    """Prune `obj` (a whole resource) in place; return the removed paths (`spec.items[0].bar`).

    The root's own metadata is the API machinery's to decode; an embedded resource's metadata
    is cut to ObjectMeta's fields here (schemaobjectmeta.Coerce does so in Kubernetes)."""
    pruned: list[str] = []
    root = dict(schema or {})
    root["x-kubernetes-embedded-resource"] = True  # the root keeps its TypeMeta and ObjectMeta
    _prune(obj, root, "", pruned)
    return pruned


def _object_meta(x: dict[str, Any], path: str, pruned: list[str]) -> None:
    meta = x.get("metadata")
    if not path or not isinstance(meta, dict):
        return
    for key in list(meta):
        if key not in _OBJECT_META:
            del meta[key]
            pruned.append(f"{path}.metadata.{key}")


def prune_value(value: Any, schema: dict[str, Any] | None) -> list[str]:
    """Prune a value that is not a resource (a default) against its schema node."""
    pruned: list[str] = []
    _prune(value, schema, "", pruned)
    return pruned


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _sub(schema: dict[str, Any], key: str) -> tuple[bool, dict[str, Any] | None]:
    """(specified, schema of the key's value)."""
    props = schema.get("properties")
    if isinstance(props, dict) and key in props:
        return True, props[key]
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        return True, additional
    if additional is True:
        return True, None
    return False, None


def _items(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    items = schema.get("items") if schema is not None else None
    return items if isinstance(items, dict) else None


def _prune(x: Any, s: dict[str, Any] | None, path: str, pruned: list[str]) -> None:
    if s is not None and s.get("x-kubernetes-preserve-unknown-fields"):
        _skip_prune(x, s, path, pruned)
        return
    if isinstance(x, dict):
        embedded = s is not None and bool(s.get("x-kubernetes-embedded-resource"))
        if embedded:
            _object_meta(x, path, pruned)
        for key in list(x):
            if embedded and key in _META:
                continue
            specified, sub = _sub(s, key) if s is not None else (False, None)
            if specified:
                _prune(x[key], sub, _child(path, key), pruned)
            else:
                del x[key]
                pruned.append(_child(path, key))
    elif isinstance(x, list):
        items = _items(s)
        for i, item in enumerate(x):
            _prune(item, items, f"{path}[{i}]", pruned)


def _skip_prune(x: Any, s: dict[str, Any] | None, path: str, pruned: list[str]) -> None:
    if s is None:
        return
    if isinstance(x, dict):
        embedded = bool(s.get("x-kubernetes-embedded-resource"))
        if embedded:
            _object_meta(x, path, pruned)
        for key in list(x):
            if embedded and key in _META:
                continue
            specified, sub = _sub(s, key)
            if specified:
                _prune(x[key], sub, _child(path, key), pruned)
    elif isinstance(x, list):
        items = _items(s)
        for i, item in enumerate(x):
            _skip_prune(item, items, f"{path}[{i}]", pruned)


def unknown_field_warnings(paths: list[str]) -> list[str]:
    """The warnings fieldValidation=Warn sends for pruned fields."""
    return [f'unknown field "{p}"' for p in paths]
