"""Structural defaulting, as apiextensions-apiserver's schema/defaulting does.

A property's `default` fills it when absent, or when it is null and the property is not
nullable. Defaults are applied top-down, so a defaulted object is itself defaulted. Afterwards
nulls of non-nullable fields without a default are dropped (PruneNonNullableNullsWithoutDefaults),
so `foo: null` reads as "unset" rather than failing type validation.
"""

from __future__ import annotations

import copy
from typing import Any


def default(obj: Any, schema: dict[str, Any] | None) -> None:
    """Apply defaults in place (the object is expected to be pruned already)."""
    if schema is None:
        return
    if isinstance(obj, dict):
        props: dict[str, Any] = schema.get("properties") or {}
        for key, sub in props.items():
            if "default" not in sub:
                continue
            if key not in obj or (obj[key] is None and not sub.get("nullable")):
                obj[key] = copy.deepcopy(sub["default"])
        additional = schema.get("additionalProperties")
        for key, value in obj.items():
            sub = props.get(key)
            if sub is not None:
                default(value, sub)
            elif isinstance(additional, dict):
                default(value, additional)
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(obj):
                if item is None and "default" in items and not items.get("nullable"):
                    obj[i] = copy.deepcopy(items["default"])
                default(obj[i], items)


def drop_non_nullable_nulls(obj: Any, schema: dict[str, Any] | None) -> None:
    """Remove `null`s of non-nullable fields that have no default (they mean "unset")."""
    if schema is None:
        return
    if isinstance(obj, dict):
        props: dict[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key in list(obj):
            sub = props.get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is None:
                continue
            if obj[key] is None:
                if not sub.get("nullable") and "default" not in sub:
                    del obj[key]
            else:
                drop_non_nullable_nulls(obj[key], sub)
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in obj:
                drop_non_nullable_nulls(item, items)
