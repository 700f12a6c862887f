"""Field errors and the messages Kubernetes prints for them (k8s.io/apimachinery/.../field).

A `FieldError` names a field path, the kind of problem, the bad value and a detail. Its
`message()` is what `kubectl` shows after `is invalid:`; `invalid_message` builds the whole
422 message and `status_causes` the `details.causes` of the Status object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any


class ErrorType(Enum):
    """The kind of a field error: value is the Status cause reason, `text` the printed words."""

    NOT_FOUND = "FieldValueNotFound"
    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    INTERNAL = "InternalError"
    TYPE_INVALID = "FieldValueTypeInvalid"

    @property
    def text(self) -> str:
        return _TEXT[self]


_TEXT = {
    ErrorType.NOT_FOUND: "Not found",
    ErrorType.REQUIRED: "Required value",
    ErrorType.DUPLICATE: "Duplicate value",
    ErrorType.INVALID: "Invalid value",
    ErrorType.NOT_SUPPORTED: "Unsupported value",
    ErrorType.FORBIDDEN: "Forbidden",
    ErrorType.TOO_LONG: "Too long",
    ErrorType.TOO_MANY: "Too many",
    ErrorType.INTERNAL: "Internal error",
    ErrorType.TYPE_INVALID: "Invalid value",
}

# Types whose message never shows the value.
_VALUELESS = {ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.TOO_LONG, ErrorType.INTERNAL}


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()


class GoValue(str):
    """A bad value already in Go's printed form (`%#v` of a struct or map): shown unquoted."""


def format_value(value: Any) -> str:
    """A bad value as Go's field error prints it: strings quoted, numbers and bools bare."""
    if value is None:
        return "null"
    if isinstance(value, GoValue):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        # Go's %#v of a map[string]string, which Kubernetes prints for label maps.
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return f"map[string]string{{{inner}}}"
    if hasattr(value, "__struct_fields__"):
        import msgspec

        return msgspec.json.encode(value).decode()
    return json.dumps(value, default=str, ensure_ascii=False)


@dataclass(frozen=True)
class FieldError:
    """One validation failure: `spec.containers[1].name: Duplicate value: "web"`."""

    type: ErrorType
    field: str
    value: Any = OMIT
    detail: str = ""

    def body(self) -> str:
        """The message without the field path (a Status cause's message)."""
        if self.type in _VALUELESS or self.value is OMIT:
            text = self.type.text
        else:
            text = f"{self.type.text}: {format_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def message(self) -> str:
        return f"{self.field}: {self.body()}" if self.field else self.body()

    def __str__(self) -> str:
        return self.message()


# Constructors named as in Kubernetes' field package.

def required(field: str, detail: str = "") -> FieldError:
    return FieldError(ErrorType.REQUIRED, field, OMIT, detail)


def invalid(field: str, value: Any, detail: str = "") -> FieldError:
    return FieldError(ErrorType.INVALID, field, value, detail)


def not_found(field: str, value: Any) -> FieldError:
    return FieldError(ErrorType.NOT_FOUND, field, value)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError(ErrorType.DUPLICATE, field, value)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError(ErrorType.FORBIDDEN, field, OMIT, detail)


def not_supported(field: str, value: Any, supported: list[str] | tuple[str, ...]) -> FieldError:
    detail = ""
    if supported:
        detail = "supported values: " + ", ".join(json.dumps(s) for s in supported)
    return FieldError(ErrorType.NOT_SUPPORTED, field, value, detail)


def too_long(field: str, value: Any, max_length: int) -> FieldError:
    unit = "byte" if max_length == 1 else "bytes"
    return FieldError(ErrorType.TOO_LONG, field, value,
                      f"may not be more than {max_length} {unit}")


def too_many(field: str, actual: int, maximum: int) -> FieldError:
    return FieldError(ErrorType.TOO_MANY, field, actual,
                      f"must have at most {maximum} items")


def type_invalid(field: str, value: Any, detail: str) -> FieldError:
    return FieldError(ErrorType.TYPE_INVALID, field, value, detail)


# Paths, written as Kubernetes writes them.

def child(path: str, *names: str) -> str:
    for name in names:
        path = f"{path}.{name}" if path else name
    return path


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


def aggregate(errors: list[FieldError]) -> str:
    """Kubernetes' aggregate error text: one message, or `[a, b]`, duplicates removed."""
    seen: list[str] = []
    for e in errors:
        msg = e.message()
        if msg not in seen:
            seen.append(msg)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def qualified_kind(kind: str, group: str = "") -> str:
    """`Pod`, or `Deployment.apps` for kinds outside the core group."""
    return f"{kind}.{group}" if group else kind


def invalid_message(kind: str, name: str, errors: list[FieldError], group: str = "") -> str:
    """`Pod "x" is invalid: ...`, the message of a 422 Invalid Status."""
    return f"{qualified_kind(kind, group)} {json.dumps(name)} is invalid: {aggregate(errors)}"


def status_causes(errors: list[FieldError]) -> list[dict[str, str]]:
    """The `details.causes` of the 422 Status: reason, message (without path) and field."""
    return [{"reason": e.type.value, "message": e.body(), "field": e.field} for e in errors]
