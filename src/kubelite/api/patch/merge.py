"""RFC 7386 JSON merge patch (`application/merge-patch+json`, used by kubectl label/annotate/scale)."""

from __future__ import annotations

from typing import Any

from ._json import clone, json_equal


def apply_merge_patch(original: Any, patch: Any) -> Any:
    """Apply `patch` to `original` as RFC 7386 says; neither input is modified.

    Objects merge recursively, `null` removes a key, anything else (lists included) replaces.
    """
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def create_merge_patch(original: Any, modified: Any) -> Any:
    """The smallest merge patch that turns `original` into `modified`.

    A merge patch cannot set a value to null inside an object, so `modified` should hold none.
    """
    if not isinstance(original, dict) or not isinstance(modified, dict):
        return clone(modified)
    patch: dict[str, Any] = {}
    for key in original:
        if key not in modified:
            patch[key] = None
    for key, value in modified.items():
        if key not in original:
            patch[key] = clone(value)
        elif not json_equal(original[key], value):
            if isinstance(original[key], dict) and isinstance(value, dict):
                patch[key] = create_merge_patch(original[key], value)
            else:
                patch[key] = clone(value)
    return patch
