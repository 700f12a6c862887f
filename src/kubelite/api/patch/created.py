"""The managedFields of a create, computed in one walk over the new object.

A create by manager M records one Update entry owning every field the new object sets
beyond what an empty typed object already has (`record_update` with no old object:
compare the object against the kind's skeleton, keep what is added or modified, drop
stripped metadata and status). Creates are the API server's hottest write, so this module
does the same in a single pass that builds the sorted FieldsV1 tree directly, instead of
cloning the object, collecting path tuples, diffing and then rebuilding the tree.
`tests/unit/api/patch/test_created.py` checks it against `record_update` on many objects.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.memo import ContentMemo

from ._json import json_equal
from .fieldpath import Path
from .schema import Schema
from .structured import MISSING, _index_items

_KIND_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}
# FieldsV1 nodes below list elements, by (element schema, element JSON).
_ITEMS: ContentMemo[dict[str, Any]] = ContentMemo(2048)
# What a top-level field (spec, data...) gives, by (schema, skeleton, stripped, field JSON).
_TOP: ContentMemo[tuple[bool, dict[str, Any]]] = ContentMemo(1024)
_UNREMEMBERED = frozenset({"metadata"})  # names and uids differ on every object
# Stripped paths are all one or two elements long (apiVersion, kind, metadata.name...):
# deeper paths are never looked up.
_STRIPPED_DEPTH = 2


def _order(key: str) -> tuple[int, str]:
    return (_KIND_RANK.get(key[:1], 4), key[2:])


def created_fields_v1(
    obj: dict[str, Any],
    schema: Schema | None,
    skeleton: dict[str, Any],
    stripped: frozenset[Path],
) -> dict[str, Any]:
    """The FieldsV1 tree a create of `obj` gives its manager ({} when it owns nothing).

    `skeleton` is what an empty object of the kind looks like; `stripped` are paths nobody
    owns (apiVersion, kind, metadata.name...). Status and managedFields are never owned.
    The tree may share nodes with trees returned before: read it, encode it, never change it.
    """
    assert all(len(p) <= _STRIPPED_DEPTH for p in stripped)
    body = {k: v for k, v in obj.items() if k != "status"}
    meta = body.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        body["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    _, children = _Walk(stripped).node(body, skeleton, schema, ())
    return children


class _Walk:
    """One walk: `node` says, as `compare(skeleton, obj)` would, whether a path is added or
    modified, and returns the FieldsV1 nodes below it."""

    __slots__ = ("stripped",)

    def __init__(self, stripped: frozenset[Path]) -> None:
        self.stripped = stripped

    def node(
        self, value: Any, skel: Any, schema: Schema | None, path: Path | None
    ) -> tuple[bool, dict[str, Any]]:
        """`path` is None below the depth where stripped paths live (and is then not built)."""
        if isinstance(value, dict):
            if (schema is None or schema.granular_map) and (
                skel is MISSING or skel is None or isinstance(skel, dict)
            ) and (value or (isinstance(skel, dict) and skel)):
                return self._map(value, skel, schema, path)
        elif isinstance(value, list):
            if schema is not None and schema.granular_list and (
                skel is MISSING or skel is None or isinstance(skel, list)
            ) and (value or (isinstance(skel, list) and skel)):
                return self._list(value, skel, schema, path)
        elif value is None and skel:
            # null over a non-empty skeleton node: compare() only finds its children removed
            if isinstance(skel, dict) and (schema is None or schema.granular_map):
                return False, {}
            if isinstance(skel, list) and schema is not None and schema.granular_list:
                return False, {}
        if path == ():
            return False, {}
        if skel is not MISSING and json_equal(skel, value):
            return False, {}
        return path is None or path not in self.stripped, {}

    def _map(
        self, value: dict[str, Any], skel: Any, schema: Schema | None, path: Path | None
    ) -> tuple[bool, dict[str, Any]]:
        lo = skel if isinstance(skel, dict) else {}
        children: dict[str, Any] = {}
        deep = path is None or len(path) >= _STRIPPED_DEPTH
        for key, child in value.items():
            pe = "f:" + key
            child_schema = schema.field(key) if schema is not None else None
            if path == () and key not in _UNREMEMBERED and isinstance(child, (dict, list)):
                owned, below = self._top(child, lo.get(key, MISSING), child_schema, (pe,))
            else:
                owned, below = self.node(
                    child, lo.get(key, MISSING), child_schema, None if deep else (*path, pe)  # type: ignore[misc]
                )
            if below:
                children[pe] = {".": {}, **below} if owned else below
            elif owned:
                children[pe] = {}
        return self._owned(skel, path), _sorted(children)

    def _list(
        self, value: list[Any], skel: Any, schema: Schema, path: Path | None
    ) -> tuple[bool, dict[str, Any]]:
        item_schema = schema.item()
        _, lo_items = _index_items(skel if isinstance(skel, list) else [], schema, (), False)
        order, items = _index_items(value, schema, (), False)
        deep = path is None or len(path) >= _STRIPPED_DEPTH
        children: dict[str, Any] = {}
        for pe in order:
            item, item_skel = items[pe], lo_items.get(pe, MISSING)
            if deep and item_skel is MISSING and isinstance(item, dict) and item_schema is not None:
                owned, below = True, self._new_item(item, item_schema)
            else:
                owned, below = self.node(item, item_skel, item_schema, None if deep else (*path, pe))  # type: ignore[misc]
            if below:
                children[pe] = {".": {}, **below} if owned else below
            elif owned:
                children[pe] = {}
        return self._owned(skel, path), _sorted(children)

    def _top(
        self, value: Any, skel: Any, schema: Schema | None, path: Path
    ) -> tuple[bool, dict[str, Any]]:
        """`node` of a top-level field, remembered by content (shared: read-only)."""
        return _TOP.get((id(schema), id(skel), self.stripped), value,
                        lambda: self.node(value, skel, schema, path))

    def _new_item(self, item: dict[str, Any], schema: Schema) -> dict[str, Any]:
        """The nodes below a list element the skeleton lacks, remembered by content: pods
        of one template repeat the same containers, ports and tolerations."""
        return _ITEMS.get((id(schema),), item, lambda: self.node(item, MISSING, schema, None)[1])

    def _owned(self, skel: Any, path: Path | None) -> bool:
        """A map or list node is itself added only when the skeleton lacks it."""
        if skel is not MISSING or path == ():
            return False
        return path is None or path not in self.stripped


def _sorted(children: dict[str, Any]) -> dict[str, Any]:
    if len(children) < 2:
        return children
    return {k: children[k] for k in sorted(children, key=_order)}
