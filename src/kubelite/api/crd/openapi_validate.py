"""OpenAPI v3 value validation of a custom resource, worded as kube-openapi's validate package.

Each failure is a kube-openapi message (`spec.replicas in body should be less than or equal
to 10`) turned into a field error the way apiextensions-apiserver's
kubeOpenAPIResultToFieldErrors does: Required, NotSupported (enum), TooLong, TooMany
(maxItems, maxProperties), TypeInvalid (type and format) or Invalid with the bad value.
Paths are kube-openapi's: `spec.items[0].name`, `spec.labels.foo` under additionalProperties.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import math
import re
import uuid
from datetime import datetime
from typing import Any

from kubelite.api.crd import regex
from kubelite.api.validation.errors import (
    FieldError,
    GoValue,
    duplicate,
    invalid,
    not_supported,
    required,
    too_long,
    too_many,
    type_invalid,
)

ROOT = "<nil>"  # Kubernetes prints a nil field.Path so


class _Missing:
    pass


MISSING: Any = _Missing()  # "no old value" (None is a JSON null)


_COMBINATORS = frozenset(("allOf", "anyOf", "oneOf", "not"))


def json_type(value: Any) -> str:
    """The JSON schema type kube-openapi infers for a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def types_of(schema: dict[str, Any]) -> list[str]:
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    t = schema.get("type")
    return [t] if isinstance(t, str) and t else []


def _type_ok(value: Any, allowed: list[str]) -> bool:
    actual = json_type(value)
    if actual in allowed:
        return True
    if actual == "number" and "integer" in allowed and float(value).is_integer():
        return True  # kube-openapi's isFloatInt
    return actual == "integer" and "number" in allowed


# --- formats (the ones strfmt.Default knows and CRD authors use) --------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_DURATION = re.compile(r"^(-?\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w))+$")
_BSON = re.compile(r"^[0-9a-fA-F]{24}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$")
_HEXCOLOR = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_BYTE = r"\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*"
_RGBCOLOR = re.compile(rf"^rgb\({_BYTE},{_BYTE},{_BYTE}\)$")
_SSN = re.compile(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$")
_SHORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LONG_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _uuid(value: str, version: int | None) -> bool:
    if not re.match(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                    r"[0-9a-fA-F]{12}$", value):
        return False
    return version is None or uuid.UUID(value).version == version


def _datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return "T" in value or "t" in value or " " in value


def _ip(value: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(value).version == version
    except ValueError:
        return False


def _cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value


def _byte(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return True


_FORMATS: dict[str, Any] = {
    "date": lambda v: bool(_DATE.match(v)),
    "date-time": _datetime,
    "datetime": _datetime,
    "duration": lambda v: bool(_DURATION.match(v)),
    "email": lambda v: bool(_EMAIL.match(v)),
    "hostname": lambda v: bool(_HOSTNAME.match(v)),
    "ipv4": lambda v: _ip(v, 4),
    "ipv6": lambda v: _ip(v, 6),
    "cidr": _cidr,
    "mac": lambda v: bool(_MAC.match(v)),
    "uri": lambda v: bool(_URI.match(v)),
    "uuid": lambda v: _uuid(v, None),
    "uuid3": lambda v: _uuid(v, 3),
    "uuid4": lambda v: _uuid(v, 4),
    "uuid5": lambda v: _uuid(v, 5),
    "byte": _byte,
    "bsonobjectid": lambda v: bool(_BSON.match(v)),
    "password": lambda v: True,
    "hexcolor": lambda v: bool(_HEXCOLOR.match(v)),
    "rgbcolor": lambda v: bool(_RGBCOLOR.match(v)),
    "ssn": lambda v: bool(_SSN.match(v)),
    "k8s-short-name": lambda v: len(v) <= 63 and bool(_SHORT_NAME.match(v)),
    "k8s-long-name": lambda v: len(v) <= 253 and bool(_LONG_NAME.match(v)),
}

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
               "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}


def _num(n: float) -> str:
    """A float bound as Go's %v prints it (10, not 10.0)."""
    if isinstance(n, float) and n.is_integer() and abs(n) < 1e21:
        return str(int(n))
    return repr(n) if isinstance(n, float) else str(n)


def _go_list(values: list[Any]) -> str:
    """%v of a []interface{}: `[a b 1]`."""
    def one(v: Any) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None:
            return "<nil>"
        return json.dumps(v) if isinstance(v, list | dict) else _num(v)
    return "[" + " ".join(one(v) for v in values) + "]"


def go_map_repr(value: dict[str, Any]) -> GoValue:
    """%#v of a map[string]interface{} (what a duplicate map-list key prints)."""
    def one(v: Any) -> str:
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None:
            return "interface {}(nil)"
        if isinstance(v, int):
            return f"{v}"
        return json.dumps(v)
    inner = ", ".join(f"{json.dumps(k)}:{one(value[k])}" for k in sorted(value))
    return GoValue(f"map[string]interface {{}}{{{inner}}}")


class Validator:
    """Validates one object against a CRD's openAPIV3Schema (value validation only)."""

    def __init__(self, base: str = "") -> None:
        self.errors: list[FieldError] = []
        self.base = base  # the field path the validated value sits at (a default's path)

    def run(self, schema: dict[str, Any], value: Any, path: str = "",
            old: Any = MISSING) -> list[FieldError]:
        """Validate `value`; with `old` (an update), unchanged nodes are not re-validated
        (Kubernetes' CRD validation ratcheting: an old invalid value may stay)."""
        self.errors = []
        self._node(schema, value, path, old)
        return self.errors

    def _field(self, name: str) -> str:
        """errPath.Child(name) of kubeOpenAPIResultToFieldErrors."""
        if not name:
            return self.base or ROOT
        return f"{self.base}.{name}" if self.base else name

    def _sub(self) -> Validator:
        return Validator(self.base)

    # one schema node ---------------------------------------------------------------------

    def _node(self, schema: dict[str, Any], value: Any, path: str, old: Any = MISSING) -> None:
        if old is not MISSING and same_json(old, value):
            return
        if not self._type(schema, value, path):
            return
        if value is None:
            return
        if _COMBINATORS.intersection(schema):
            self._combinators(schema, value, path)
        if isinstance(value, str):
            self._string(schema, value, path)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self._number(schema, value, path)
        elif isinstance(value, list):
            self._array(schema, value, path, old)
        elif isinstance(value, dict):
            self._object(schema, value, path, old)
        if "enum" in schema:
            self._enum(schema, value, path)

    def _type(self, schema: dict[str, Any], value: Any, path: str) -> bool:
        allowed = types_of(schema)
        if value is None:
            if allowed and not schema.get("nullable"):
                self._type_error(path, ",".join(allowed), "null")
                return False
            return True
        if allowed and not _type_ok(value, allowed):
            self._type_error(path, ",".join(allowed), json_type(value))
            return False
        return True

    def _type_error(self, path: str, expected: str, actual: str) -> None:
        name = path
        self.errors.append(type_invalid(
            self._field(path), actual, f"{name} in body must be of type {expected}: {json.dumps(actual)}"))

    def _combinators(self, schema: dict[str, Any], value: Any, path: str) -> None:
        """schemaPropsValidator: the composite message first (at the root path, value ""),
        then the reasons of the branch that came closest (here: the fewest errors)."""
        name = json.dumps(path)
        composite: list[FieldError] = []
        reasons: list[FieldError] = []
        any_of = schema.get("anyOf") or []
        if any_of:
            results = [self._sub().run(s, value, path) for s in any_of]
            if all(results):
                composite.append(self._composite(f"{name} must validate at least one schema (anyOf)"))
                reasons.extend(_closest(results))
        one_of = schema.get("oneOf") or []
        if one_of:
            results = [self._sub().run(s, value, path) for s in one_of]
            passed = sum(1 for r in results if not r)
            if passed != 1:
                found = "Found none valid" if passed == 0 else f"Found {passed} valid alternatives"
                composite.append(self._composite(
                    f"{name} must validate one and only one schema (oneOf). {found}"))
                if passed == 0:
                    reasons.extend(_closest(results))
        all_of = schema.get("allOf") or []
        if all_of:
            results = [self._sub().run(s, value, path) for s in all_of]
            for r in results:
                reasons.extend(r)
            passed = sum(1 for r in results if not r)
            if passed != len(all_of):
                none = ". None validated" if passed == 0 else ""
                composite.append(self._composite(
                    f"{name} must validate all the schemas (allOf){none}"))
        if "not" in schema and not self._sub().run(schema["not"], value, path):
            composite.append(self._composite(f"{name} must not validate the schema (not)"))
        self.errors.extend(composite)
        self.errors.extend(reasons)

    def _composite(self, detail: str) -> FieldError:
        return invalid(self.base or ROOT, "", detail)

    def _string(self, schema: dict[str, Any], value: str, path: str) -> None:
        name = path
        n = len(value)
        if "maxLength" in schema and n > schema["maxLength"]:
            self.errors.append(too_long(self._field(path), value, int(schema["maxLength"])))
            return
        if "minLength" in schema and n < schema["minLength"]:
            self.errors.append(invalid(
                self._field(path), value,
                f"{name} in body should be at least {schema['minLength']} chars long"))
            return
        pattern = schema.get("pattern")
        if pattern:
            try:
                ok = regex.search(pattern, value)
            except ValueError as err:
                ok, pattern = False, f"{pattern}, but pattern is invalid: {err}"
            if not ok:
                self.errors.append(invalid(self._field(path), value,
                                           f"{name} in body should match '{pattern}'"))
                return
        fmt = schema.get("format")
        check = _FORMATS.get(fmt or "")
        if check is not None and not check(value):
            self.errors.append(type_invalid(self._field(path), value,
                                            f"{name} in body must be of type {fmt}: {json.dumps(value)}"))

    def _number(self, schema: dict[str, Any], value: float, path: str) -> None:
        name = path
        fmt = schema.get("format")
        if fmt in _INT_RANGES and isinstance(value, int):
            lo, hi = _INT_RANGES[fmt]
            if not lo <= value <= hi:
                self.errors.append(invalid(self._field(path), value,
                                           f"Checked value must be of type integer with format {fmt} in {name}"))
        if "multipleOf" in schema:
            factor = schema["multipleOf"]
            if factor and not _is_multiple(value, factor):
                self.errors.append(invalid(self._field(path), value,
                                           f"{name} in body should be a multiple of {_num(factor)}"))
        if "minimum" in schema:
            lo = schema["minimum"]
            exclusive = bool(schema.get("exclusiveMinimum"))
            if value < lo or (exclusive and value == lo):
                words = "greater than" if exclusive else "greater than or equal to"
                self.errors.append(invalid(self._field(path), value,
                                           f"{name} in body should be {words} {_num(lo)}"))
        if "maximum" in schema:
            hi = schema["maximum"]
            exclusive = bool(schema.get("exclusiveMaximum"))
            if value > hi or (exclusive and value == hi):
                words = "less than" if exclusive else "less than or equal to"
                self.errors.append(invalid(self._field(path), value,
                                           f"{name} in body should be {words} {_num(hi)}"))

    def _array(self, schema: dict[str, Any], value: list[Any], path: str, old: Any) -> None:
        name = path
        n = len(value)
        if "minItems" in schema and n < schema["minItems"]:
            self.errors.append(invalid(self._field(path), n,
                                       f"{name} in body should have at least {schema['minItems']} items"))
        if "maxItems" in schema and n > schema["maxItems"]:
            self.errors.append(too_many(self._field(path), n, int(schema["maxItems"])))
        if schema.get("uniqueItems") and _has_duplicates(value):
            self.errors.append(invalid(self._field(path), "",
                                       f"{name} in body shouldn't contain duplicates"))
        items = schema.get("items")
        if isinstance(items, dict):
            old_items = _correlate_items(schema, old)
            keys = schema.get("x-kubernetes-list-map-keys") or []
            for i, item in enumerate(value):
                marker = _item_key(item, keys) if old_items else None
                self._node(items, item, f"{path}[{i}]", old_items.get(marker, MISSING)
                           if marker is not None else MISSING)
        self._list_type(schema, value, path)

    def _list_type(self, schema: dict[str, Any], value: list[Any], path: str) -> None:
        """x-kubernetes-list-type set/map uniqueness (apiextensions' ValidateListSetsAndMaps)."""
        kind = schema.get("x-kubernetes-list-type")
        if kind == "set":
            seen: list[Any] = []
            for i, item in enumerate(value):
                if item in seen:
                    self.errors.append(duplicate(self._field(f"{path}[{i}]"), _dup_value(item)))
                else:
                    seen.append(item)
        elif kind == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            items = schema.get("items") or {}
            props = items.get("properties") or {}
            seen_keys: set[str] = set()
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                key_values = {}
                for k in keys:
                    v = item.get(k, props.get(k, {}).get("default"))
                    if v is not None:
                        key_values[k] = v
                marker = json.dumps(key_values, sort_keys=True)
                if marker in seen_keys:
                    self.errors.append(duplicate(self._field(f"{path}[{i}]"), go_map_repr(key_values)))
                seen_keys.add(marker)

    def _object(self, schema: dict[str, Any], value: dict[str, Any], path: str, old: Any) -> None:
        old_map = old if isinstance(old, dict) else {}
        name = path
        n = len(value)
        if "minProperties" in schema and n < schema["minProperties"]:
            self.errors.append(invalid(self._field(path), n,
                                       f"{name} in body should have at least {schema['minProperties']} properties"))
            return
        if "maxProperties" in schema and n > schema["maxProperties"]:
            self.errors.append(too_many(self._field(path), n, int(schema["maxProperties"])))
            return
        props: dict[str, Any] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        prefix = f"{path}." if path else ""
        if additional is False:
            for k in value:
                if k not in props:
                    self.errors.append(invalid(self._field(f"{prefix}{k}"), k,
                                               f"{name}.{k} in body is a forbidden property"))
        elif isinstance(additional, dict):
            for k, v in value.items():
                if k not in props:
                    self._node(additional, v, f"{prefix}{k}", old_map.get(k, MISSING))
        for k, sub in props.items():
            if k in value:
                self._node(sub, value[k], f"{prefix}{k}", old_map.get(k, MISSING))
        for k in schema.get("required") or []:
            if k not in value:
                self.errors.append(required(self._field(f"{prefix}{k}")))

    def _enum(self, schema: dict[str, Any], value: Any, path: str) -> None:
        options = schema.get("enum") or []
        for option in options:
            if option == value and json_type(option) == json_type(value):
                return
            if isinstance(option, int | float) and isinstance(value, int | float) \
                    and not isinstance(value, bool) and option == value:
                return
        supported = [o if isinstance(o, str) else json.dumps(o) for o in options]
        self.errors.append(not_supported(self._field(path), value, supported))


def _closest(results: list[list[FieldError]]) -> list[FieldError]:
    """The failing branch with the fewest errors (kube-openapi keeps the best match)."""
    best = results[0]
    for r in results[1:]:
        if len(r) < len(best):
            best = r
    return best


def same_json(a: Any, b: Any) -> bool:
    """Deep equality that tells 1 from 1.0 and True from 1, as JSON does."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _item_key(item: Any, keys: list[str]) -> str | None:
    if not isinstance(item, dict):
        return None
    return json.dumps([item.get(k) for k in keys])


def _correlate_items(schema: dict[str, Any], old: Any) -> dict[str, Any]:
    """Old items of a map-list by key: the list items an update can be compared with."""
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return {}
    keys = schema.get("x-kubernetes-list-map-keys") or []
    out: dict[str, Any] = {}
    for item in old:
        marker = _item_key(item, keys)
        if marker is not None:
            out[marker] = item
    return out


def _is_multiple(value: float, factor: float) -> bool:
    if isinstance(value, int) and isinstance(factor, int):
        return value % factor == 0
    q = value / factor
    return math.isfinite(q) and float(q).is_integer()


def _has_duplicates(value: list[Any]) -> bool:
    seen: list[Any] = []
    for item in value:
        if item in seen:
            return True
        seen.append(item)
    return False


def _dup_value(item: Any) -> Any:
    if isinstance(item, dict):
        return go_map_repr(item)
    return item


def validate_value(schema: dict[str, Any], obj: Any, base: str = "",
                   old: Any = MISSING) -> list[FieldError]:
    """Validate `obj`; `base` is the field path it sits at ("" for a whole custom resource)."""
    return Validator(base).run(schema, obj, old=old)


__all__ = ["validate_value", "json_type", "types_of", "go_map_repr", "same_json", "ROOT", "MISSING"]
