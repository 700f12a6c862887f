"""Structural-schema rules (apiextensions-apiserver's schema/validation.go).

Types everywhere on the spine, nothing but value validation under anyOf/allOf/oneOf/not (the
two int-or-string patterns excepted), every property named there also on the spine, metadata
at the root restricted to name/generateName, embedded resources objects. Errors are sorted by
message, as Kubernetes sorts them.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.crd import regex
from kubelite.api.crd.schema_shape import key_path, properties_of
from kubelite.api.validation.errors import FieldError, forbidden, invalid, required

_NESTED_FORBIDDEN = [  # keyword, message in a value validation (anyOf/allOf/oneOf/not)
    ("type", "must be empty to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("externalDocs", "must be undefined to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
]
_INT_OR_STRING = [{"type": "integer"}, {"type": "string"}]


def _structural(s: dict[str, Any], level: str, path: str, errs: list[FieldError]) -> None:
    """validateStructuralInvariants; level is root, item or field."""
    t = s.get("type") or ""
    if t == "array" and not isinstance(s.get("items"), dict):
        errs.append(required(f"{path}.items", "must be specified"))
    if isinstance(s.get("items"), dict):
        _structural(s["items"], "item", f"{path}.items", errs)
    for k, v in properties_of(s).items():
        if isinstance(v, dict):
            _structural(v, "field", key_path(path, k), errs)
    if "additionalProperties" in s:
        if level == "root":
            errs.append(forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        if isinstance(s["additionalProperties"], dict):
            _structural(s["additionalProperties"], "field", f"{path}.additionalProperties", errs)
    ios, puf = bool(s.get("x-kubernetes-int-or-string")), bool(
        s.get("x-kubernetes-preserve-unknown-fields"))
    embedded = bool(s.get("x-kubernetes-embedded-resource"))
    if ios and puf:
        errs.append(invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True,
                            "must be false if x-kubernetes-int-or-string is true"))
    if ios and embedded:
        errs.append(invalid(f"{path}.x-kubernetes-embedded-resource", True,
                            "must be false if x-kubernetes-int-or-string is true"))
    _value_validation(s, level, path, errs)
    if embedded and t != "object":
        if not t:
            errs.append(required(f"{path}.type", "must be object if x-kubernetes-embedded-resource is true"))
        else:
            errs.append(invalid(f"{path}.type", t, "must be object if x-kubernetes-embedded-resource is true"))
    elif not t and not ios and not puf:
        words = {"root": "must not be empty at the root",
                 "item": "must not be empty for specified array items",
                 "field": "must not be empty for specified object fields"}[level]
        errs.append(required(f"{path}.type", words))
    if embedded and "additionalProperties" in s:
        errs.append(forbidden(f"{path}.additionalProperties",
                              "must not be used if x-kubernetes-embedded-resource is set"))
    if level == "root" and t and t != "object":
        errs.append(invalid(f"{path}.type", t, "must be object at the root"))
    check_meta = level == "root" or embedded
    props = properties_of(s)
    for name in ("kind", "apiVersion"):
        if name in props and check_meta and props[name].get("type") != "string":
            errs.append(invalid(f"{key_path(path, name)}.type", props[name].get("type") or "",
                                "must be string"))
    if "metadata" in props and isinstance(props["metadata"], dict):
        _metadata(props["metadata"], check_meta, level, key_path(path, "metadata"), errs)
    if embedded and not puf and not props:
        errs.append(required(f"{path}.properties", "must not be empty if x-kubernetes-embedded-resource "
                             "is true without x-kubernetes-preserve-unknown-fields"))


def _metadata(m: dict[str, Any], check_meta: bool, level: str, path: str,
              errs: list[FieldError]) -> None:
    if check_meta and m.get("type") != "object":
        errs.append(invalid(f"{path}.type", m.get("type") or "", "must be object"))
    if level != "root":
        return
    rest = {k: v for k, v in m.items() if k not in ("type", "default", "description")}
    props = rest.pop("properties", None) or {}
    if set(props) - {"name", "generateName"} or any(v is not None and v != {} and v is not False
                                                     for v in rest.values()):
        errs.append(forbidden(path, "must not specify anything other than name and generateName, "
                              "but metadata is implicitly specified"))


def _value_validation(s: dict[str, Any], level: str, path: str, errs: list[FieldError]) -> None:
    skip_any_of = s.get("anyOf") == _INT_OR_STRING
    all_of = s.get("allOf") or []
    skip_first = bool(all_of) and isinstance(all_of[0], dict) and all_of[0].get("anyOf") == _INT_OR_STRING
    if not skip_any_of:
        for i, v in enumerate(s.get("anyOf") or []):
            _nested(v, False, f"{path}.anyOf[{i}]", errs)
    for i, v in enumerate(all_of):
        _nested(v, skip_first and i == 0, f"{path}.allOf[{i}]", errs)
    for i, v in enumerate(s.get("oneOf") or []):
        _nested(v, False, f"{path}.oneOf[{i}]", errs)
    if isinstance(s.get("not"), dict):
        _nested(s["not"], False, f"{path}.not", errs)
    pattern = s.get("pattern")
    if pattern:
        complaint = regex.error(str(pattern))
        if complaint:
            errs.append(invalid(f"{path}.pattern", pattern,
                                f"must be a valid regular expression, but isn't: {complaint}"))


def _nested(v: Any, skip_any_of: bool, path: str, errs: list[FieldError]) -> None:
    if not isinstance(v, dict):
        return
    _value_validation({**v, "anyOf": [] if skip_any_of else v.get("anyOf")}, "field", path, errs)
    if isinstance(v.get("items"), dict):
        _nested(v["items"], False, f"{path}.items", errs)
    for k, sub in properties_of(v).items():
        _nested(sub, False, key_path(path, k), errs)
    for keyword, words in _NESTED_FORBIDDEN:
        present = v.get(keyword)
        if present not in (None, False, "", [], {}):
            errs.append(forbidden(f"{path}.{keyword}", words))
    if "additionalProperties" in v:
        errs.append(forbidden(f"{path}.additionalProperties", "must be undefined to be structural"))
    if "metadata" in properties_of(v):
        errs.append(forbidden(key_path(path, "metadata"), "must not be specified in a nested context"))


def _completeness(s: dict[str, Any], path: str, errs: list[FieldError]) -> None:
    """Every property or items named in anyOf/allOf/oneOf/not also exists in the spine."""
    def nested(v: Any, spine: Any, spath: str, vpath: str) -> None:
        if not isinstance(v, dict):
            return
        if not isinstance(spine, dict):
            errs.append(required(spath, f"because it is defined in {vpath}"))
            return
        junctors(v, spine, spath, vpath)
        if isinstance(v.get("items"), dict):
            nested(v["items"], spine.get("items"), f"{spath}.items", f"{vpath}.items")
        for k, sub in properties_of(v).items():
            nested(sub, properties_of(spine).get(k), key_path(spath, k), key_path(vpath, k))

    def junctors(v: dict[str, Any], spine: dict[str, Any], spath: str, vpath: str) -> None:
        for word in ("allOf", "anyOf", "oneOf"):
            for i, sub in enumerate(v.get(word) or []):
                nested(sub, spine, spath, f"{vpath}.{word}[{i}]")
        if isinstance(v.get("not"), dict):
            nested(v["not"], spine, spath, f"{vpath}.not")

    def walk(node: dict[str, Any], p: str) -> None:
        junctors(node, node, p, p)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{p}.items")
        for k, sub in properties_of(node).items():
            if isinstance(sub, dict):
                walk(sub, key_path(p, k))
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], f"{p}.additionalProperties")

    walk(s, path)


def structural_errors(schema: dict[str, Any], path: str) -> list[FieldError]:
    """ValidateStructural: invariants and completeness, sorted by message."""
    errs: list[FieldError] = []
    _structural(schema, "root", path, errs)
    _completeness(schema, path, errs)
    errs.sort(key=lambda e: e.message())
    return errs
