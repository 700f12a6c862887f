"""The structured-merge-diff operations server-side apply is built from, over plain JSON
values and our schema nodes:

- `to_field_set`: the paths an object sets (ToFieldSet);
- `compare`: what changed between two objects (Compare: added / modified / removed);
- `merge`: an applied configuration merged into a live object (Merge);
- `remove_items`: an object with some owned paths taken out (RemoveItems);
- `ensure_named_fields`: a set that also owns the struct fields above its paths.

Without a schema, maps are granular and lists atomic, as structured-merge-diff deduces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._json import clone, json_equal
from .errors import PatchError
from .fieldpath import Path, field_pe, index_pe, key_pe, path_string, value_pe
from .schema import KEY_FIELD_DEFAULTS, Schema


class _Missing:
    """Marks an absent value, as opposed to an explicit null."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def _granular_map(value: Any, schema: Schema | None) -> bool:
    if not isinstance(value, dict):
        return False
    return schema is None or schema.granular_map


def _granular_list(value: Any, schema: Schema | None) -> bool:
    return isinstance(value, list) and schema is not None and schema.granular_list


def _is_struct_field(schema: Schema | None, key: str) -> bool:
    return schema is not None and schema.has_field(key)


def _child(schema: Schema | None, key: str) -> Schema | None:
    return schema.field(key) if schema is not None else None


def list_item_pe(item: Any, schema: Schema, index: int, *, strict: bool, where: Path = ()) -> str:
    """The path element naming one list element: by its keys, its value or its index."""
    if schema.list_type == "set":
        return value_pe(item)
    if schema.list_type == "map" and schema.list_keys:
        if not isinstance(item, dict):
            if strict:
                raise PatchError(
                    f"{path_string(where)}: element {index}: associative list with keys has an element that is not a map"
                )
            return index_pe(index)
        keys: dict[str, Any] = {}
        for name in schema.list_keys:
            if item.get(name) is not None:
                keys[name] = item[name]
            elif name in KEY_FIELD_DEFAULTS:
                keys[name] = KEY_FIELD_DEFAULTS[name]
            elif strict:
                raise PatchError(
                    f"{path_string(where)}: element {index}: associative list with keys has an element "
                    f'that omits key field "{name}" (and doesn\'t have default value)'
                )
        return key_pe(keys)
    return index_pe(index)


def _index_items(
    values: list[Any], schema: Schema, path: Path, strict: bool
) -> tuple[list[str], dict[str, Any]]:
    """Path elements in list order and the first element for each (duplicates ignored)."""
    order: list[str] = []
    seen: dict[str, Any] = {}
    for i, item in enumerate(values):
        pe = list_item_pe(item, schema, i, strict=strict, where=path)
        if pe in seen:
            if strict:
                raise PatchError(f"{path_string(path)}: duplicate entries for key {pe[2:]}")
            continue
        seen[pe] = item
        order.append(pe)
    return order, seen


# -------------------------------------------------------------------------------- ToFieldSet


def to_field_set(obj: Any, schema: Schema | None, *, strict: bool = False) -> set[Path]:
    """All paths `obj` sets; list elements and map keys are owned themselves, struct fields not.

    Null and empty values are owned leaves. (structured-merge-diff does not own an empty list;
    Kubernetes never stores one thanks to omitempty, but we do, so an applier must own it to
    be able to remove it again.)
    """
    out: set[Path] = set()
    _fs(obj, schema, (), out, strict)
    return out


def _fs(value: Any, schema: Schema | None, path: Path, out: set[Path], strict: bool) -> None:
    if _granular_map(value, schema):
        for key, child in value.items():
            child_path = (*path, field_pe(key))
            _fs(child, _child(schema, key), child_path, out, strict)
            if child is None or child == {} or child == [] or not _is_struct_field(schema, key):
                out.add(child_path)
    elif _granular_list(value, schema):
        assert schema is not None
        item_schema = schema.item()
        order, items = _index_items(value, schema, path, strict)
        for pe in order:
            child_path = (*path, pe)
            _fs(items[pe], item_schema, child_path, out, strict)
            out.add(child_path)
    elif path:
        out.add(path)


# ----------------------------------------------------------------------------------- Compare


@dataclass
class Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)


def compare(old: Any, new: Any, schema: Schema | None) -> Comparison:
    """What changed from `old` to `new`; nodes that appear or vanish are listed themselves too."""
    result = Comparison()
    _cmp(old, new, schema, (), result)
    return result


def _cmp(old: Any, new: Any, schema: Schema | None, path: Path, c: Comparison) -> None:
    sample = new if new is not MISSING and new is not None else old
    if _granular_map(sample, schema) and all(
        v is MISSING or v is None or isinstance(v, dict) for v in (old, new)
    ):
        lo = old if isinstance(old, dict) else {}
        ro = new if isinstance(new, dict) else {}
        if lo or ro:
            for key in {**lo, **ro}:
                _cmp(
                    lo.get(key, MISSING),
                    ro.get(key, MISSING),
                    _child(schema, key),
                    (*path, field_pe(key)),
                    c,
                )
            _hook(old, new, path, c)
            return
    elif _granular_list(sample, schema) and all(
        v is MISSING or v is None or isinstance(v, list) for v in (old, new)
    ):
        assert schema is not None
        lo_list = old if isinstance(old, list) else []
        ro_list = new if isinstance(new, list) else []
        if lo_list or ro_list:
            item_schema = schema.item()
            l_order, l_items = _index_items(lo_list, schema, path, False)
            r_order, r_items = _index_items(ro_list, schema, path, False)
            for pe in dict.fromkeys(l_order + r_order):
                _cmp(
                    l_items.get(pe, MISSING), r_items.get(pe, MISSING), item_schema, (*path, pe), c
                )
            _hook(old, new, path, c)
            return
    _leaf(old, new, path, c)


def _hook(old: Any, new: Any, path: Path, c: Comparison) -> None:
    if not path:
        return
    if old is MISSING:
        c.added.add(path)
    elif new is MISSING:
        c.removed.add(path)


def _leaf(old: Any, new: Any, path: Path, c: Comparison) -> None:
    if not path:
        return
    if old is MISSING:
        if new is not MISSING:
            c.added.add(path)
    elif new is MISSING:
        c.removed.add(path)
    elif not json_equal(old, new):
        c.modified.add(path)


# ------------------------------------------------------------------------------------- Merge


def merge(live: Any, config: Any, schema: Schema | None) -> Any:
    """`config` merged into `live`: config wins on leaves; maps and keyed lists merge."""
    return _merge(live, config, schema, ())


def _merge(lhs: Any, rhs: Any, schema: Schema | None, path: Path) -> Any:
    if rhs is MISSING:
        return lhs
    if lhs is MISSING or lhs is None:
        return clone(rhs)
    if _granular_map(rhs, schema) and isinstance(lhs, dict):
        if not lhs and not rhs:
            return {}
        out: dict[str, Any] = {}
        for key, value in lhs.items():
            if key in rhs and rhs[key] is None:
                continue  # an explicit null in the configuration removes the field
            out[key] = _merge(
                value, rhs.get(key, MISSING), _child(schema, key), (*path, field_pe(key))
            )
        for key, value in rhs.items():
            if key not in lhs and value is not None:
                out[key] = clone(value)
        return out
    if _granular_list(rhs, schema) and isinstance(lhs, list):
        assert schema is not None
        return _merge_list(lhs, rhs, schema, path)
    return clone(rhs)


def _merge_list(lhs: list[Any], rhs: list[Any], schema: Schema, path: Path) -> list[Any]:
    """structured-merge-diff's list merge: live-only items stay in place, shared and new items
    follow the configuration's order."""
    item_schema = schema.item()
    r_order, r_items = _index_items(rhs, schema, path, True)
    l_order, l_items = _index_items(lhs, schema, path, False)
    shared = [pe for pe in r_order if pe in l_items]
    next_shared = shared.pop(0) if shared else None
    merged_rhs: set[str] = set()
    out: list[Any] = []
    li = ri = 0
    while li < len(l_order) or ri < len(r_order):
        if li < len(l_order) and ri < len(r_order):
            pe = l_order[li]
            if pe == r_order[ri]:
                merged_rhs.add(pe)
                out.append(_merge(l_items[pe], r_items[pe], item_schema, (*path, pe)))
                li += 1
                ri += 1
                next_shared = shared.pop(0) if shared else None
                continue
            if pe in r_items and next_shared is not None and next_shared != pe:
                li += 1  # a shared item, but not the one wanted this round
                continue
        if li < len(l_order):
            pe = l_order[li]
            if pe not in r_items:
                out.append(l_items[pe])
                li += 1
                continue
            if pe in merged_rhs:
                li += 1
                continue
        if ri < len(r_order):
            pe = r_order[ri]
            merged_rhs.add(pe)
            out.append(_merge(l_items.get(pe, MISSING), r_items[pe], item_schema, (*path, pe)))
            ri += 1
            if next_shared is not None and next_shared == pe:
                next_shared = shared.pop(0) if shared else None
    return out


# ------------------------------------------------------------------------------- RemoveItems


def remove_items(obj: Any, paths: set[Path], schema: Schema | None) -> Any:
    """`obj` without the nodes at `paths`; maps and lists left empty become null (dropped)."""
    prefixes: set[Path] = set()
    for p in paths:
        for i in range(len(p)):
            prefixes.add(p[:i])
    if () not in prefixes:
        return obj
    return _remove(obj, schema, (), paths, prefixes)


def _remove(
    value: Any, schema: Schema | None, path: Path, paths: set[Path], prefixes: set[Path]
) -> Any:
    if _granular_map(value, schema):
        if not value:
            return None
        out: dict[str, Any] = {}
        for key, child in value.items():
            child_path = (*path, field_pe(key))
            if child_path in paths:
                continue
            if child_path in prefixes:
                child = _remove(child, _child(schema, key), child_path, paths, prefixes)
                if child is None:
                    continue
            out[key] = child
        return out or None
    if _granular_list(value, schema):
        assert schema is not None
        if not value:
            return None
        item_schema = schema.item()
        kept: list[Any] = []
        for i, item in enumerate(value):
            child_path = (*path, list_item_pe(item, schema, i, strict=False))
            if child_path in paths:
                continue
            if child_path in prefixes:
                item = _remove(item, item_schema, child_path, paths, prefixes)
            kept.append(item)
        return kept or None
    return value


# ---------------------------------------------------------------------------- named fields


def ensure_named_fields(paths: set[Path], schema: Schema | None) -> set[Path]:
    """`paths` plus every struct field that has owned paths below it (EnsureNamedFieldsAreMembers)."""
    out = set(paths)
    cache: dict[Path, Schema | None] = {(): schema}

    def schema_at(p: Path) -> Schema | None:
        if p in cache:
            return cache[p]
        parent = schema_at(p[:-1])
        pe = p[-1]
        found: Schema | None = None
        if parent is not None:
            found = parent.field(pe[2:]) if pe.startswith("f:") else parent.item()
        cache[p] = found
        return found

    for p in paths:
        for i in range(1, len(p)):
            prefix = p[:i]
            if prefix in out or not prefix[-1].startswith("f:"):
                continue
            parent = schema_at(prefix[:-1])
            if parent is not None and parent.has_field(prefix[-1][2:]):
                out.add(prefix)
    return out
