"""Strategic merge patch (`application/strategic-merge-patch+json`), as apimachinery's
strategicpatch applies it on the server (MergeParallelList and IgnoreUnmatchedNulls on).

The schema decides how each list merges: `x-kubernetes-patch-strategy: merge` with a
`x-kubernetes-patch-merge-key` merges element-wise by that key, `merge` without a key merges
primitives as a set, anything else replaces. Maps always merge; `null` deletes a key.

Directives: `$patch: replace|delete` on a map or list element, `$retainKeys`,
`$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`. No key starting with `$`
survives into the result. Where Kubernetes would copy a patch value verbatim (a key absent
from the original) we merge it into an empty value instead, so nested directives are honoured
rather than stored.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.unmarshal import json_type

from ._json import clone, go_repr, json_equal
from .errors import PatchError
from .schema import Schema, schema_for

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER_PREFIX = "$setElementOrder/"
DELETE_FROM_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"

# apimachinery/pkg/util/mergepatch/errors.go
ERR_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_RETAIN_KEYS_CONTENT = "patch content doesn't match retainKeys list"
ERR_SET_ORDER = "invalid patch format of setElementOrder list"
ERR_LIST_OF_LISTS = "lists of lists are not supported"


def apply_strategic_merge_patch(
    original: dict[str, Any], patch: dict[str, Any], definition: str
) -> dict[str, Any]:
    """Apply a strategic merge patch to an object whose schema is `definition`.

    Unknown definitions (and schemaless fields such as annotations) merge like a JSON merge
    patch: maps merge, lists replace. Inputs are never modified.
    """
    if not isinstance(patch, dict):
        raise PatchError(
            f"json: cannot unmarshal {json_type(patch)} into Go value of type map[string]interface {{}}"
        )
    base = clone(original) if isinstance(original, dict) else {}
    return _merge_map(base, clone(patch), schema_for(definition))


def _strategy(field: Schema | None) -> str:
    """The non-retainKeys half of a field's patch strategy ("merge", "replace" or "")."""
    strategies = field.patch_strategies if field is not None else ()
    rest = [s for s in strategies if s != "retainKeys"]
    if len(rest) > 1 or len(strategies) > 2:
        raise PatchError(f"unexpected patch strategy: {list(strategies)}")
    return rest[0] if rest else ""


def _merge_key(field: Schema | None) -> str:
    return field.merge_key if field is not None else ""


def _item(field: Schema | None) -> Schema | None:
    return field.item() if field is not None else None


def _child(schema: Schema | None, key: str) -> Schema | None:
    return schema.field(key) if schema is not None else None


# ---------------------------------------------------------------------------------------- maps


def _merge_map(
    original: dict[str, Any], patch: dict[str, Any], schema: Schema | None
) -> dict[str, Any]:
    """Merge `patch` into `original` (both private working copies, modified in place)."""
    if DIRECTIVE in patch:
        directive = patch[DIRECTIVE]
        if directive == "replace":
            del patch[DIRECTIVE]
            return _merge_map({}, patch, schema)
        if directive == "delete":
            return {}
        raise PatchError(f"unknown patch type: {go_repr(directive)} in map: {go_repr(patch)}")

    _apply_retain_keys(original, patch)
    _apply_set_element_order(original, patch, schema)

    for key, value in patch.items():
        is_delete_list = False
        if key.startswith(DELETE_FROM_PRIMITIVE_PREFIX):
            key = key[len(DELETE_FROM_PRIMITIVE_PREFIX) :]
            if not key:
                raise PatchError(ERR_PRIMITIVE_LIST)
            if not isinstance(value, list):
                raise PatchError(ERR_PRIMITIVE_LIST)
            is_delete_list = True
        elif key.startswith("$"):
            continue  # an unknown directive is never stored
        if value is None:
            original.pop(key, None)
            continue
        field = _child(schema, key)
        current = original.get(key)
        if key not in original or current is None:
            if not is_delete_list:
                original[key] = _fresh(value, field)
            continue
        if isinstance(current, dict) and isinstance(value, dict):
            if _strategy(field) == "replace":
                original[key] = _fresh(value, field)
            else:
                original[key] = _merge_map(current, value, field)
        elif isinstance(current, list) and isinstance(value, list):
            original[key] = _merge_list_field(current, value, field, is_delete_list)
        elif not is_delete_list:
            original[key] = _fresh(value, field)
    return original


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    """`$retainKeys: [a, b]` clears every key of `original` not listed."""
    if RETAIN_KEYS not in patch:
        return
    listed = patch.pop(RETAIN_KEYS)
    if not isinstance(listed, list) or not all(isinstance(k, str) for k in listed):
        raise PatchError(ERR_RETAIN_KEYS)
    keep = set(listed)
    for key, value in patch.items():
        if value is None or key.startswith("$"):
            continue
        if key not in keep:
            raise PatchError(ERR_RETAIN_KEYS_CONTENT, 422)
    for key in [k for k in original if k not in keep]:
        del original[key]


def _fresh(value: Any, field: Schema | None) -> Any:
    """A patch value for a key the original lacks: merged into nothing, so directives apply."""
    if isinstance(value, dict):
        return _merge_map({}, value, field)
    if isinstance(value, list):
        if (
            _strategy(field) == "merge"
            and any(isinstance(v, dict) for v in value)
            and _merge_key(field)
        ):
            return _merge_list([], value, field, False)
        item = _item(field)
        return [_merge_map({}, v, item) if isinstance(v, dict) else clone(v) for v in value]
    return value


# --------------------------------------------------------------------------------------- lists


def _merge_list_field(
    current: list[Any], value: list[Any], field: Schema | None, is_delete_list: bool
) -> list[Any]:
    if is_delete_list:
        return [v for v in current if not any(json_equal(v, d) for d in value)]
    if _strategy(field) == "merge":
        return _merge_list(current, value, field, False)
    return _fresh(value, field)  # type: ignore[no-any-return]


def _element_kind(*lists: list[Any]) -> str:
    """ "map", "scalar" or "" (no elements); lists of lists and mixed lists are errors."""
    kind = ""
    for values in lists:
        for v in values:
            if isinstance(v, list):
                raise PatchError(ERR_LIST_OF_LISTS, 422)
            this = "map" if isinstance(v, dict) else _scalar_type(v)
            if kind and this != kind:
                raise PatchError(f"list element types are not identical: {go_repr(list(lists))}")
            kind = this
    return "map" if kind == "map" else ("scalar" if kind else "")


def _scalar_type(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def _merge_list(
    original: list[Any], patch: list[Any], field: Schema | None, is_delete_list: bool
) -> list[Any]:
    """mergeSlice: merge two lists of a merge-strategy field, then restore a stable order."""
    if not original and not patch:
        return original
    kind = _element_kind(original, patch)
    merge_key = _merge_key(field)
    if kind != "map":
        merged: list[Any] = []
        for v in original + patch:
            if not any(json_equal(v, m) for m in merged):
                merged.append(v)
        patch_items, server_only = _partition(merged, patch, "")
        return _normalize_order(patch_items, server_only, patch, original, "")
    if not merge_key:
        raise PatchError("cannot merge lists without merge key for type map")
    original, patch = _special_elements(original, patch, merge_key, field)
    merged = _merge_by_key(list(original), patch, merge_key, _item(field))
    patch_items, server_only = _partition(merged, patch, merge_key)
    return _normalize_order(patch_items, server_only, patch, original, merge_key)


def _no_merge_key(item: dict[str, Any], merge_key: str) -> PatchError:
    return PatchError(f"map: {go_repr(item)} does not contain declared merge key: {merge_key}")


def _special_elements(
    original: list[Any], patch: list[Any], merge_key: str, field: Schema | None
) -> tuple[list[Any], list[Any]]:
    """Handle `$patch` elements: delete by key, or replace the whole list."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            original = [
                o
                for o in original
                if not (
                    isinstance(o, dict)
                    and json_equal(o.get(merge_key), item[merge_key])
                    and merge_key in o
                )
            ]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {go_repr(directive)} in map: {go_repr(item)}")
    if replace:
        item_schema = _item(field)
        return [_merge_map({}, v, item_schema) for v in plain], []
    return original, plain


def _merge_by_key(
    original: list[Any], patch: list[Any], merge_key: str, item: Schema | None
) -> list[Any]:
    for element in patch:
        if merge_key not in element:
            raise _no_merge_key(element, merge_key)
        for i, existing in enumerate(original):
            if not isinstance(existing, dict):
                raise PatchError(f"value for key {i} is not a map.")
            if merge_key in existing and json_equal(existing[merge_key], element[merge_key]):
                original[i] = _merge_map(existing, element, item)
                break
        else:
            original.append(_merge_map({}, element, item))
    return original


def _key_of(value: Any, merge_key: str) -> Any:
    if not merge_key:
        return value
    return value.get(merge_key) if isinstance(value, dict) else None


def _index_in(values: list[Any], value: Any, merge_key: str) -> int:
    wanted = _key_of(value, merge_key)
    for i, v in enumerate(values):
        if json_equal(_key_of(v, merge_key), wanted):
            return i
    return -1


def _partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Split into (items present in `by`, server-only items), keeping order."""
    present: list[Any] = []
    server_only: list[Any] = []
    for v in merged:
        if merge_key and not isinstance(v, dict):
            raise PatchError(f"expected a map[string]interface {{}}, but received a {go_repr(v)}")
        (present if _index_in(by, v, merge_key) >= 0 else server_only).append(v)
    return present, server_only


def _sort_by(values: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    if merge_key:
        for v in values + order:
            if not isinstance(v, dict):
                raise PatchError(
                    f"expected a map[string]interface {{}}, but received a {go_repr(v)}"
                )
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)

    def rank(v: Any) -> int:
        i = _index_in(order, v, merge_key)
        return i if i >= 0 else len(order)

    return sorted(values, key=rank)


def _normalize_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
) -> list[Any]:
    """Patch items in patch order, server-only items in live order, interleaved by live order."""
    right = _sort_by(patch_items, patch_order, merge_key)
    left = _sort_by(server_only, server_order, merge_key)
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index_in(server_order, left[i], merge_key)
            ri = _index_in(server_order, right[j], merge_key)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


# ------------------------------------------------------------------------- $setElementOrder


def _apply_set_element_order(
    original: dict[str, Any], patch: dict[str, Any], schema: Schema | None
) -> None:
    """Merge each list that has a `$setElementOrder/<field>` and order it by that list."""
    for directive in [k for k in patch if k.startswith(SET_ORDER_PREFIX)]:
        order = patch.pop(directive)
        name = directive[len(SET_ORDER_PREFIX) :]
        if not name or not isinstance(order, list):
            raise PatchError(ERR_SET_ORDER)
        field = _child(schema, name)
        merge_key = _merge_key(field)
        current = original.get(name)
        incoming = patch.get(name)
        if name in patch and incoming is None:
            continue  # the field is being deleted; the main loop handles it
        if current is not None and not isinstance(current, list):
            raise PatchError(f"expected a []interface {{}}, but received a {go_repr(current)}")
        if incoming is not None and not isinstance(incoming, list):
            raise PatchError(f"expected a []interface {{}}, but received a {go_repr(incoming)}")
        _validate_order(incoming or [], order, merge_key)
        if current is None and incoming is None:
            continue
        if incoming is None:
            merged = current or []
        else:
            merged = _merge_list_field(current or [], incoming, field, False)
        patch_items, server_only = _partition(merged, order, merge_key)
        _element_kind(current or [], incoming or [])
        original[name] = _normalize_order(patch_items, server_only, order, current or [], merge_key)
        patch.pop(name, None)


def _validate_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """Items of the patch list (deletions aside) must appear in `order`, in the same order."""
    if not order or not patch_list:
        return
    if merge_key:
        for v in patch_list:
            if not isinstance(v, dict):
                raise PatchError(
                    f"expected a map[string]interface {{}}, but received a {go_repr(v)}"
                )
        items = [v for v in patch_list if v.get(DIRECTIVE) != "delete"]
    else:
        items = patch_list
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and DIRECTIVE in items[p]:
            p += 1
            continue
        if merge_key:
            for v in (items[p], order[s]):
                if not isinstance(v, dict):
                    raise PatchError(
                        f"expected a map[string]interface {{}}, but received a {go_repr(v)}"
                    )
                if merge_key not in v:
                    raise _no_merge_key(v, merge_key)
            same = json_equal(items[p][merge_key], order[s][merge_key])
        else:
            same = json_equal(items[p], order[s])
        if same:
            p += 1
        s += 1
    if p < len(items):
        raise PatchError(
            f"The order in patch list:\n{go_repr(patch_list)}\n doesn't match {SET_ORDER_PREFIX} list:\n{go_repr(order)}\n"
        )
