"""Tables of custom objects: the columns of a CRD version's additionalPrinterColumns
(apiextensions-apiserver's tableconvertor), after Name; one Age column when it has none."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from kubelite.api.crd import jsonpath
from kubelite.api.tables._base import (
    OBJECT_META,
    Column,
    Obj,
    Printer,
    doc,
    human_duration,
    name,
    name_column,
    parse_time,
)

# serveDefaultColumnsIfEmpty
DEFAULT_COLUMNS: tuple[dict[str, Any], ...] = (
    {"name": "Age", "type": "date", "description": doc(OBJECT_META, "creationTimestamp"),
     "jsonPath": ".metadata.creationTimestamp"},
)


def _go_text(value: Any) -> str:
    """A value as client-go's jsonpath prints it into a string column."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def cell(column_type: str, value: Any, now: dt.datetime) -> Any:
    """cellForJSONValue: a typed cell, or None where the value is not of the column's type."""
    if value is None:
        return None
    if column_type == "string":
        return _go_text(value)
    if column_type == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        when = parse_time(value)
        if when is None:
            return "<invalid>"
        return human_duration(now - when)
    return None


def printer(columns: list[dict[str, Any]]) -> Printer:
    """The printer of one CRD version from its additionalPrinterColumns."""
    specs = columns or list(DEFAULT_COLUMNS)
    paths: list[list[jsonpath.Token] | None] = []
    for spec in specs:
        try:
            paths.append(jsonpath.parse(str(spec.get("jsonPath", ""))))
        except jsonpath.JSONPathError:
            paths.append(None)
    defs = [name_column()] + [
        Column(str(s.get("name", "")), str(s.get("type", "string")), str(s.get("description", "")),
               int(s.get("priority", 0) or 0), str(s.get("format", "")))
        for s in specs
    ]

    def row(obj: Obj, now: dt.datetime) -> list[Any]:
        cells: list[Any] = [name(obj)]
        for spec, tokens in zip(specs, paths, strict=True):
            found = jsonpath.find(tokens, obj) if tokens is not None else []
            cells.append(cell(str(spec.get("type", "string")), found[0], now) if found else None)
        return cells

    return Printer(tuple(defs), row)
