"""Field paths and field sets in the FieldsV1 form of `metadata.managedFields`.

A path is a tuple of path elements spelled as in FieldsV1:
`f:<field>` (struct field or map key), `k:<json of key fields>` (element of an associative
list), `v:<json value>` (element of a set) and `i:<index>` (element of a keyless list).
A FieldSet holds the paths a manager owns; a path with children is also owned itself when its
FieldsV1 node carries `".": {}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from .errors import PatchError

Path = tuple[str, ...]
_ENCODER = msgspec.json.Encoder(order="sorted")


def field_pe(name: str) -> str:
    return "f:" + name


def _compact_json(value: Any) -> str:
    """JSON with sorted keys, no spaces and no escaping of non-ASCII (as Go's encoder writes
    path elements). msgspec writes strings, integers and booleans exactly as json.dumps does,
    several times faster; anything else (floats print differently) goes to json.dumps."""
    if isinstance(value, str | int) or (
        isinstance(value, dict) and all(isinstance(v, str | int) for v in value.values())
    ):
        return _ENCODER.encode(value).decode()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key_pe(keys: dict[str, Any]) -> str:
    return "k:" + _compact_json(keys)


def value_pe(value: Any) -> str:
    return "v:" + _compact_json(value)


def index_pe(index: int) -> str:
    return f"i:{index}"


def _go_string(value: Any) -> str:
    """structured-merge-diff's value.ToString: strings quoted, numbers and bools bare."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def element_string(pe: str) -> str:
    """One path element in Kubernetes' printed form: `.image`, `[name="c"]`, `[="x"]`, `[0]`."""
    kind, _, body = pe.partition(":")
    if kind == "f":
        return "." + body
    if kind == "k":
        keys = json.loads(body)
        return "[" + ",".join(f"{k}={_go_string(keys[k])}" for k in sorted(keys)) + "]"
    if kind == "v":
        return "[=" + _go_string(json.loads(body)) + "]"
    if kind == "i":
        return f"[{body}]"
    return "{{invalid path element}}"


def path_string(path: Path) -> str:
    """A whole path as Kubernetes prints it in conflicts: `.spec.containers[name="c"].image`."""
    return "".join(element_string(pe) for pe in path)


_KIND_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


def path_sort_key(path: Path) -> tuple[tuple[int, str], ...]:
    """Order of fieldpath.Path.Compare: field names before keys before values before indexes."""
    return tuple((_KIND_RANK.get(pe[:1], 4), pe[2:]) for pe in path)


class FieldSet:
    """An immutable set of owned field paths, convertible to and from FieldsV1."""

    __slots__ = ("_paths",)

    def __init__(self, paths: Iterable[Path] = ()) -> None:
        self._paths: frozenset[Path] = frozenset(paths)

    @classmethod
    def from_object(cls, obj: dict[str, Any], definition: str) -> FieldSet:
        """Every field `obj` sets, as structured-merge-diff's ToFieldSet sees it."""
        from .schema import schema_for
        from .structured import to_field_set

        return cls(to_field_set(obj, schema_for(definition)))

    @classmethod
    def from_fields_v1(cls, data: Any) -> FieldSet:
        """Parse a `fieldsV1` value; malformed input is a PatchError."""
        paths: set[Path] = set()

        def walk(node: Any, prefix: Path) -> None:
            if not isinstance(node, dict):
                raise PatchError(
                    f"invalid fieldsV1 at {path_string(prefix) or '.'}: expected an object"
                )
            if not node and prefix:
                paths.add(prefix)
            for key, child in node.items():
                if key == ".":
                    if prefix:
                        paths.add(prefix)
                    continue
                if len(key) < 2 or key[1] != ":" or key[0] not in "fkvi":
                    raise PatchError(f"invalid fieldsV1 path element {key!r}")
                walk(child, (*prefix, key))

        walk(data, ())
        return cls(paths)

    def to_fields_v1(self) -> dict[str, Any]:
        """The FieldsV1 JSON object; `"."` marks nodes owned themselves that have children."""
        root: dict[str, Any] = {}
        for path in self._paths:
            node = root
            for pe in path:
                node = node.setdefault(pe, {})
        for path in self._paths:
            node = root
            for pe in path:
                node = node[pe]
            if node and "." not in node:
                node["."] = {}
        return _sorted_tree(root)

    @property
    def paths(self) -> frozenset[Path]:
        return self._paths

    def union(self, other: FieldSet) -> FieldSet:
        return FieldSet(self._paths | other._paths)

    def difference(self, other: FieldSet) -> FieldSet:
        return FieldSet(self._paths - other._paths)

    def intersection(self, other: FieldSet) -> FieldSet:
        return FieldSet(self._paths & other._paths)

    def without_prefix(self, prefix: Path) -> FieldSet:
        """Drop `prefix` and everything under it."""
        n = len(prefix)
        return FieldSet(p for p in self._paths if p[:n] != prefix)

    def only_prefix(self, prefix: Path) -> FieldSet:
        """Keep `prefix` and everything under it."""
        n = len(prefix)
        return FieldSet(p for p in self._paths if p[:n] == prefix)

    def sorted_paths(self) -> list[Path]:
        return sorted(self._paths, key=path_sort_key)

    def __contains__(self, path: object) -> bool:
        return path in self._paths

    def __iter__(self) -> Iterator[Path]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def __bool__(self) -> bool:
        return bool(self._paths)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSet) and self._paths == other._paths

    def __hash__(self) -> int:
        return hash(self._paths)

    def __repr__(self) -> str:
        return f"FieldSet({[path_string(p) for p in self.sorted_paths()]})"


def _sorted_tree(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "." in node:
        out["."] = {}
    for key in sorted(
        (k for k in node if k != "."), key=lambda k: (_KIND_RANK.get(k[:1], 4), k[2:])
    ):
        out[key] = _sorted_tree(node[key])
    return out
