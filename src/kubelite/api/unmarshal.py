"""A body value of the wrong JSON type, worded as Go's encoding/json reports it.

Kubernetes decodes a request body into Go structs, so a string where an object belongs is
refused as `json: cannot unmarshal string into Go struct field Binding.target of type
v1.ObjectReference`: the innermost struct's name, the field path from the top (array indexes
and map keys left out) and the Go type. The API server wraps that text in its 400
`... cannot be handled as a ...` message. Here the Go names come from the definitions.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.fieldcheck import definitions

_REF_PREFIX = "#/$defs/"
_GO_SCALARS = {"string": "string", "boolean": "bool", "number": "float64"}


def json_type(value: Any) -> str:
    """The JSON type name Go reports for a value it could not store."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _short(definition: str) -> str:
    """io.k8s.api.core.v1.ObjectReference -> v1.ObjectReference (Go's package.Type)."""
    parts = definition.split(".")
    return ".".join(parts[-2:])


def _ref(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        return ref[len(_REF_PREFIX):]
    return None


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    return [k for k in kind or [] if k != "null"]


def go_type(schema: dict[str, Any]) -> str:
    """The Go type a field of this schema has (`[]v1.Container`, `map[string]string`, `int32`)."""
    ref = _ref(schema)
    if ref is not None:
        return _short(ref)
    kinds = _types(schema)
    if "array" in kinds:
        return "[]" + go_type(schema.get("items") or {})
    if "object" in kinds:
        extra = schema.get("additionalProperties")
        return "map[string]" + (go_type(extra) if isinstance(extra, dict) else "interface {}")
    if "integer" in kinds:
        return "int32" if schema.get("format") == "int32" else "int64"
    return _GO_SCALARS.get(kinds[0], "interface {}") if kinds else "interface {}"


def _step(schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = _ref(schema)
    if ref is None:
        return None, schema
    return ref, definitions().get(ref, {})


_ACCEPTS: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,),
}


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    if value is None:
        return True  # JSON null leaves a Go field at its zero value
    choices = schema.get("oneOf")
    if isinstance(choices, list):
        return any(_fits(value, c) for c in choices if isinstance(c, dict))
    kinds = _types(schema)
    if not kinds:
        return True  # any value (RawExtension)
    if isinstance(value, bool):
        return "boolean" in kinds
    return any(isinstance(value, _ACCEPTS.get(k, ())) for k in kinds)


def first_type_error(definition: str, body: Any) -> str | None:
    """Go's message for the first value in `body` whose JSON type its field cannot hold.

    Types only, as Go's decoder: a missing field or an unknown one is no decoding error.
    """
    return _check(body, {"$ref": _REF_PREFIX + definition}, definition.rsplit(".", 1)[-1], ())


def _check(value: Any, schema: dict[str, Any], struct: str, fields: tuple[str, ...]) -> str | None:
    name, resolved = _step(schema)
    if not _fits(value, resolved):
        if not fields:
            return None  # the body itself: its callers refuse a non-object body in their own words
        got, what = json_type(value), go_type(schema)
        if got == "number" and isinstance(value, float) and what.startswith("int"):
            got = f"number {value!r}"  # Go names the literal a whole-number field cannot hold
        return f"json: cannot unmarshal {got} into Go struct field {struct}.{'.'.join(fields)} of type {what}"
    if isinstance(value, dict):
        props = resolved.get("properties")
        inner = name.rsplit(".", 1)[-1] if name is not None else struct
        if isinstance(props, dict):
            for key, item in value.items():
                child = props.get(key)
                if isinstance(child, dict):
                    found = _check(item, child, inner, (*fields, key))
                    if found:
                        return found
            return None
        extra = resolved.get("additionalProperties")
        if isinstance(extra, dict):
            for item in value.values():
                found = _check(item, extra, struct, fields)
                if found:
                    return found
    elif isinstance(value, list):
        items = resolved.get("items")
        if isinstance(items, dict):
            for item in value:
                found = _check(item, items, struct, fields)
                if found:
                    return found
    return None


# ----- runtime.DefaultUnstructuredConverter.FromUnstructured (the strategic-merge-patch path)

_GO_KINDS = {"string": "string", "array": "slice", "object": "map", "bool": "bool"}


def _go_kind(value: Any) -> str:
    """The reflect.Kind of a JSON value decoded into interface{} (integers as int64)."""
    kind = json_type(value)
    if kind == "number":
        return "float64" if isinstance(value, float) else "int64"
    return _GO_KINDS.get(kind, "invalid")


def _restore(value: Any, schema: dict[str, Any]) -> str | None:
    """fromUnstructured's error for `value` stored into a field of `schema`, if any."""
    if value is None:
        return None
    _, resolved = _step(schema)
    if _ref(schema) is not None and "properties" not in resolved:
        return None  # Quantity, IntOrString, Time...: a converter of their own
    src, kinds = _go_kind(value), _types(resolved)
    if "properties" in resolved or (not kinds and _ref(schema) is not None):
        if src != "map":
            return f"cannot restore struct from: {src}"
        props = resolved.get("properties") or {}
        for key, item in value.items():
            child = props.get(key)
            found = _restore(item, child) if isinstance(child, dict) else None
            if found:
                return found
        return None
    if "object" in kinds:
        if src != "map":
            return f"cannot restore map from {src}"
        return _first_restore(value.values(), resolved.get("additionalProperties"))
    if "array" in kinds:
        if src != "slice":
            return f"cannot restore slice from {src}"
        return _first_restore(value, resolved.get("items"))
    return _restore_scalar(value, src, go_type(resolved)) if kinds else None


def _first_restore(values: Any, schema: Any) -> str | None:
    """The first error among the members of a map or slice whose members have `schema`."""
    if not isinstance(schema, dict):
        return None
    for item in values:
        found = _restore(item, schema)
        if found:
            return found
    return None


def _restore_scalar(value: Any, src: str, dst: str) -> str | None:
    """Go's rule: bools, integers, floats and strings never turn into one another, except
    whole floats into integers; a convertible pair that JSON refuses says so."""
    group = {"string": "string", "bool": "bool", "int32": "int", "int64": "int", "float64": "float"}
    have, want = group.get(src, src), group.get(dst, dst)
    if have == want or (have == "int" and want == "float"):
        return None
    if have == "float" and want == "int":
        return None if float(value).is_integer() else f"cannot convert {src} to {dst}"
    if have in ("int", "float") and want in ("int", "float") or have == "int" and want == "string":
        return f"cannot convert {src} to {dst}"
    return f"unrecognized type: {dst}"


def restore_error(definition: str, body: Any) -> str | None:
    """The first error Kubernetes' unstructured converter meets turning `body` into the type
    of `definition` (`cannot restore map from string`)."""
    return _restore(body, {"$ref": _REF_PREFIX + definition})
