"""Unknown-field detection for fieldValidation=Strict/Warn.

The API server decodes a request body to a plain dict and, before converting it to a typed
object (which silently drops unknown keys), walks it against the JSON-schema definitions in
`definitions.json`. Every key the schema does not know is reported with its path in Kubernetes'
form (`spec.containers[0].resouces`) and, when one is close enough, the known field the user
probably meant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from kubelite.api.memo import ContentMemo

_REF_PREFIX = "#/$defs/"
# Definitions that hold any JSON value: nothing inside them is checked.
_LEAVES = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
    "io.k8s.apimachinery.pkg.api.resource.Quantity",
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime",
}


@dataclass(frozen=True)
class UnknownField:
    """One key the schema does not know, and the known field it most resembles (if any)."""

    path: str
    suggestion: str | None = None

    def message(self, suggest: bool = True) -> str:
        text = f'unknown field "{self.path}"'
        if suggest and self.suggestion:
            text += f', did you mean "{self.suggestion}"?'
        return text


@cache
def definitions() -> dict[str, Any]:
    """The JSON-schema definitions, keyed by name (io.k8s.api.core.v1.Pod ...)."""
    text = resources.files("kubelite.api").joinpath("definitions.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _resolve(schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
        name = ref[len(_REF_PREFIX):]
        return name, definitions().get(name, {})
    return None, schema


@cache
def _properties(definition: str) -> dict[str, Any] | None:
    """The property schemas of a definition; None when it accepts any keys."""
    schema = definitions().get(definition)
    if schema is None or definition in _LEAVES:
        return None
    props = schema.get("properties")
    return props if props else None


@cache
def _nested_names(definition: str) -> tuple[tuple[str, str], ...]:
    """(child, "parent.child") for fields one level below each property of `definition`."""
    out: list[tuple[str, str]] = []
    for name, schema in (_properties(definition) or {}).items():
        ref, _ = _resolve(schema)
        child_props = _properties(ref) if ref else None
        for child in child_props or {}:
            out.append((child, f"{name}.{child}"))
    return tuple(out)


def _distance(a: str, b: str) -> int:
    """Levenshtein edit distance."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _score(unknown: str, known: str) -> float | None:
    """How close `known` is to `unknown` (lower is closer), or None when not close enough."""
    u, k = unknown.lower(), known.lower()
    if u == k:
        return 0.0
    d = float(_distance(u, k))
    limit = 1 if len(u) <= 4 else 2 if len(u) <= 8 else 3
    if d <= limit:
        return d
    if min(len(u), len(k)) >= 3 and (k.startswith(u) or u.startswith(k)):
        return limit + 0.5
    return None


def _best(unknown: str, candidates: list[tuple[str, str]]) -> tuple[float, str] | None:
    best: tuple[float, str] | None = None
    for name, shown in candidates:
        score = _score(unknown, name)
        if score is not None and (best is None or score < best[0]):
            best = (score, shown)
    return best


@lru_cache(maxsize=4096)
def suggest(unknown: str, definition: str) -> str | None:
    """The known field of `definition` the user most likely meant by `unknown`.

    Siblings are preferred; a field one level down ("resources.limits" for "limit") is offered
    only when it matches strictly better than every sibling.
    """
    siblings = [(name, name) for name in _properties(definition) or {}]
    near = _best(unknown, siblings)
    nested = _best(unknown, list(_nested_names(definition)))
    if nested is not None and (near is None or nested[0] < near[0]):
        return nested[1]
    return near[1] if near else None


def _walk(value: Any, schema: dict[str, Any], path: str, out: list[UnknownField]) -> None:
    ref, schema = _resolve(schema)
    if ref is not None and ref in _LEAVES:
        return
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _walk(item, items, f"{path}[{i}]", out)
        return
    if not isinstance(value, dict):
        return
    props = schema.get("properties")
    if props:
        for key, child in value.items():
            child_path = f"{path}.{key}" if path else key
            if key in props:
                _walk(child, props[key], child_path, out)
            else:
                out.append(UnknownField(child_path, suggest(key, ref) if ref else None))
        return
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, child in value.items():
            _walk(child, extra, f"{path}.{key}" if path else key, out)


# What a top-level field (spec, data...) holds that is unknown, by (definition, field, JSON).
_TOP: ContentMemo[tuple[UnknownField, ...]] = ContentMemo(1024)


def unknown_fields(obj: dict[str, Any], definition: str) -> list[UnknownField]:
    """Every field of `obj` that the schema `definition` does not know, in document order."""
    out: list[UnknownField] = []
    props = _properties(definition) if isinstance(obj, dict) else None
    if props is None:
        _walk(obj, {"$ref": _REF_PREFIX + definition}, "", out)
        return out
    for key, child in obj.items():
        if key not in props:
            out.append(UnknownField(key, suggest(key, definition)))
        elif key == "metadata" or not isinstance(child, (dict, list)):
            _walk(child, props[key], key, out)
        else:
            out.extend(_top_field(definition, key, child, props[key]))
    return out


def _top_field(definition: str, key: str, value: Any, schema: dict[str, Any]) -> tuple[UnknownField, ...]:
    def walk() -> tuple[UnknownField, ...]:
        found: list[UnknownField] = []
        _walk(value, schema, key, found)
        return tuple(found)

    return _TOP.get((definition, key), value, walk)


def strict_error_message(fields: list[UnknownField]) -> str:
    """The 400 BadRequest message for fieldValidation=Strict."""
    return "strict decoding error: " + ", ".join(f.message() for f in fields)


def warning_messages(fields: list[UnknownField], with_suggestions: bool = True) -> list[str]:
    """One `Warning` header text per unknown field, for fieldValidation=Warn."""
    return [f.message(with_suggestions) for f in fields]
