"""STAND-IN for `api/crd/structural.py` (written by the `crdschema` helper): the same
interface, no validation, no pruning, no defaulting. Drop this file at merge and point
`api/crd/schema.py` at `structural`.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.validation.errors import FieldError


class SchemaError(Exception):
    """A CRD's schema is not structural or its CEL rules do not compile."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def validate_crd_schema(schema: dict[str, Any], field_path: str) -> list[FieldError]:
    return []


class CompiledSchema:
    """A CRD version's schema, ready to prune, default and validate objects."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

    @classmethod
    def compile(cls, schema: dict[str, Any]) -> CompiledSchema:
        return cls(schema)

    def prune(self, obj: dict[str, Any]) -> list[str]:
        return []

    def default(self, obj: dict[str, Any]) -> None:
        return None

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[FieldError]:
        return []
