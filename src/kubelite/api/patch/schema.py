"""Walk the Kubernetes JSON schema (api/definitions.json) alongside an object.

Patch code asks one question at every level: "what is the schema of field `k` here?"
and, for lists, "how do I merge it?" (`x-kubernetes-patch-strategy`,
`x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`).
Nodes are built once per schema dict and cached, so the walk costs a dict lookup per level.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Literal

Kind = Literal["struct", "map", "list", "scalar", "unknown"]

_REF_PREFIX = "#/$defs/"
# Key fields of associative lists that Kubernetes defaults when absent (structured-merge-diff
# reads these from the OpenAPI `default`, which definitions.json does not carry).
KEY_FIELD_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


@cache
def definitions() -> dict[str, dict[str, Any]]:
    """All schema definitions by name, loaded once."""
    text = resources.files("kubelite.api").joinpath("definitions.json").read_text()
    data: dict[str, dict[str, Any]] = json.loads(text)
    return data


def add_definition(name: str, schema: dict[str, Any]) -> None:
    """Make `schema` known as `name` (a CRD version's schema, for server-side apply of its
    objects). Names are never reused for another schema: nodes are cached per schema dict."""
    definitions()[name] = schema


def _resolve(raw: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in raw and seen < 32:
        ref = raw["$ref"]
        name = ref[len(_REF_PREFIX) :] if ref.startswith(_REF_PREFIX) else ref
        raw = definitions().get(name, {})
        seen += 1
    return raw


class Schema:
    """One node of the schema: a struct, a map, a list, a scalar or unknown (no schema)."""

    __slots__ = (
        "_fields",
        "_props",
        "_raw_items",
        "_raw_values",
        "atomic",
        "granular_list",
        "granular_map",
        "kind",
        "list_keys",
        "list_type",
        "merge_key",
        "patch_strategies",
        "required",
    )

    def __init__(self, raw: dict[str, Any]) -> None:
        target = _resolve(raw)
        # Field-level markers live on the property dict; type-level ones on the definition.
        attrs = {**target, **{k: v for k, v in raw.items() if k.startswith("x-kubernetes")}}
        self._props: dict[str, Any] = target.get("properties") or {}
        self._raw_items: dict[str, Any] | None = target.get("items")
        values = target.get("additionalProperties")
        self._raw_values: dict[str, Any] | None = values if isinstance(values, dict) else None
        types = target.get("type")
        type_list = types if isinstance(types, list) else [types]
        self.kind: Kind
        if self._props:
            self.kind = "struct"
        elif self._raw_values is not None:
            self.kind = "map"
        elif self._raw_items is not None or "array" in type_list:
            self.kind = "list"
        elif "oneOf" in target or any(
            t in type_list for t in ("string", "integer", "number", "boolean")
        ):
            self.kind = "scalar"
        else:
            self.kind = "unknown"
        self.required: frozenset[str] = frozenset(target.get("required") or ())
        strategy = attrs.get("x-kubernetes-patch-strategy") or ""
        self.patch_strategies: tuple[str, ...] = tuple(s for s in strategy.split(",") if s)
        self.merge_key: str = attrs.get("x-kubernetes-patch-merge-key") or ""
        self.list_keys: tuple[str, ...] = tuple(attrs.get("x-kubernetes-list-map-keys") or ())
        self.list_type: str = self._list_type(attrs)
        self.atomic: bool = attrs.get("x-kubernetes-map-type") == "atomic" or (
            self.kind == "list" and self.list_type == "atomic"
        )
        # Whether a dict (list) value here is merged and owned key by key (item by item).
        self.granular_map = self.kind in ("struct", "map", "unknown") and not self.atomic
        self.granular_list = self.kind == "list" and not self.atomic
        self._fields: dict[str, Schema | None] = {}  # declared struct fields, resolved once

    def _list_type(self, attrs: dict[str, Any]) -> str:
        declared = attrs.get("x-kubernetes-list-type")
        if declared in ("atomic", "set", "map"):
            if declared == "map" and not self.list_keys and self.merge_key:
                self.list_keys = (self.merge_key,)
            return str(declared)
        if "merge" in self.patch_strategies:
            if self.merge_key:
                self.list_keys = (self.merge_key,)
                return "map"
            return "set"
        return "atomic"

    def field(self, name: str) -> Schema | None:
        """Schema of a struct field or map value; None when the schema does not say."""
        if self.kind == "struct":
            known = self._fields.get(name)
            if known is not None:
                return known
            raw = self._props.get(name)
            if not isinstance(raw, dict):
                return None
            known = self._fields[name] = node(raw)
            return known
        if self.kind == "map" and self._raw_values is not None:
            return node(self._raw_values)
        return None

    def has_field(self, name: str) -> bool:
        """True for a declared struct field (as opposed to a key of a map)."""
        return self.kind == "struct" and name in self._props

    def fields(self) -> dict[str, Schema]:
        """Declared struct fields."""
        return {k: node(v) for k, v in self._props.items() if isinstance(v, dict)}

    def item(self) -> Schema | None:
        """Schema of a list's elements."""
        if self._raw_items is not None:
            return node(self._raw_items)
        return None

    def __repr__(self) -> str:
        return f"Schema({self.kind}, strategy={self.patch_strategies}, key={self.merge_key!r})"


_NODES: dict[int, tuple[dict[str, Any], Schema]] = {}


def node(raw: dict[str, Any]) -> Schema:
    """The cached Schema node for one raw schema dict (definitions stay alive, so ids are stable)."""
    hit = _NODES.get(id(raw))
    if hit is not None and hit[0] is raw:
        return hit[1]
    made = Schema(raw)
    _NODES[id(raw)] = (raw, made)
    return made


def schema_for(definition: str) -> Schema | None:
    """Root schema of a definition such as `io.k8s.api.core.v1.Pod`; None if unknown."""
    raw = definitions().get(definition)
    if raw is None:
        return None
    return node(raw)


def merge_keys_for(definition: str) -> dict[str, str]:
    """Every merge-strategy list reachable from `definition`, as dotted path -> merge key.

    Handy for tests and debugging: `merge_keys_for("io.k8s.api.core.v1.Pod")["spec.containers"]`
    is `"name"`. Lists of primitives merged as sets map to "".
    """
    out: dict[str, str] = {}
    root = schema_for(definition)

    def walk(s: Schema, prefix: str, depth: int) -> None:
        if depth > 12:
            return
        for name, child in s.fields().items():
            path = f"{prefix}.{name}" if prefix else name
            if child.kind == "list":
                if "merge" in child.patch_strategies:
                    out[path] = child.merge_key
                item = child.item()
                if item is not None and item.kind == "struct":
                    walk(item, path, depth + 1)
            elif child.kind == "struct":
                walk(child, path, depth + 1)
            elif child.kind == "map":
                value = child.field("")
                if value is not None and value.kind == "struct":
                    walk(value, path + ".*", depth + 1)

    if root is not None:
        walk(root, "", 0)
    return out
