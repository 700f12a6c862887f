"""Checks of x-kubernetes-embedded-resource objects (schema/objectmeta's validateEmbeddedResource).

An embedded object (a Pod template kept as raw JSON, say) must say what it is: apiVersion and
kind present, strings, non-empty, apiVersion a valid group/version.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.validation.errors import FieldError, invalid, required


def validate_embedded(schema: dict[str, Any] | None, obj: Any, path: str = "") -> list[FieldError]:
    errors: list[FieldError] = []
    _walk(schema, obj, path, errors)
    return errors


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _walk(schema: dict[str, Any] | None, obj: Any, path: str, errors: list[FieldError]) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(obj, dict):
        if schema.get("x-kubernetes-embedded-resource") and path:
            _check(obj, path, errors)
        props = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, value in obj.items():
            sub = props.get(key)
            if sub is not None:
                _walk(sub, value, _child(path, key), errors)
            elif isinstance(additional, dict):
                _walk(additional, value, _child(path, key), errors)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(obj):
            _walk(schema["items"], item, f"{path}[{i}]", errors)


def _check(obj: dict[str, Any], path: str, errors: list[FieldError]) -> None:
    for name in ("apiVersion", "kind"):
        if name not in obj:
            errors.append(required(_child(path, name), "must not be empty"))
            continue
        value = obj[name]
        if not isinstance(value, str):
            errors.append(invalid(_child(path, name), value, "must be a string"))
        elif not value:
            errors.append(invalid(_child(path, name), value, "must not be empty"))
        elif name == "apiVersion" and value.count("/") > 1:
            errors.append(invalid(_child(path, name), value,
                                  f"unexpected GroupVersion string: {value}"))
