"""Structural defaulting, as apiextensions-apiserver's schema/defaulting does.

A property's `default` fills it when absent, or when it is null and the property is not
nullable. Defaults are applied top-down, so a defaulted object is itself defaulted. In the same
pass, nulls of non-nullable fields without a default are dropped (Kubernetes'
PruneNonNullableNullsWithoutDefaults), so `foo: null` reads as "unset" rather than failing
type validation.
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
        for key in list(obj):
            value = obj[key]
            sub = props.get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is None:
                continue
            if value is None and not sub.get("nullable"):
                if "default" not in sub:
                    del obj[key]  # null without a default means unset
                    continue
                value = obj[key] = copy.deepcopy(sub["default"])
            default(value, sub)
    elif isinstance(obj, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(obj):
                if item is None and "default" in items and not items.get("nullable"):
                    obj[i] = copy.deepcopy(items["default"])
                default(obj[i], items)
