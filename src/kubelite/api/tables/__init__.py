"""Server-side printing for `kubectl get`: the meta.k8s.io/v1 Table.

kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and prints
the cells the server sends; these are the columns and cell strings of Kubernetes'
pkg/printers/internalversion/printers.go, computed from an object's JSON dict.

    column_definitions(kind)            -> [{name, type, format, description, priority}]
    row_cells(kind, obj, now)           -> [cell, ...]  (every column, wide ones included)
    table(kind, objs, now, include)     -> the whole Table object
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from kubelite.api.registry import Kind
from kubelite.api.tables._base import Printer, human_duration
from kubelite.api.tables.printers import printer_for

__all__ = ["column_definitions", "human_duration", "partial_object_metadata", "row_cells", "table"]

TABLE_API_VERSION = "meta.k8s.io/v1"


def _printer(kind: Kind) -> Printer:
    if kind.custom is not None:  # a CRD version's additionalPrinterColumns (api/crd/tables.py)
        printer: Printer = kind.custom.printer
        return printer
    return printer_for(kind.group, kind.kind)


def column_definitions(kind: Kind) -> list[dict[str, Any]]:
    """The Table columns of a kind; priority 1 marks the `-o wide` ones."""
    return [c.as_dict() for c in _printer(kind).columns]


def row_cells(kind: Kind, obj: Mapping[str, Any], now: dt.datetime) -> list[Any]:
    """The cells of one object, in column order, as of `now`."""
    return _printer(kind).row(obj, now)


def partial_object_metadata(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The PartialObjectMetadata a row carries by default (kubectl reads labels, namespace)."""
    return {"kind": "PartialObjectMetadata", "apiVersion": TABLE_API_VERSION,
            "metadata": obj.get("metadata") or {}}


def table(
    kind: Kind,
    objs: Iterable[Mapping[str, Any]],
    now: dt.datetime,
    include_object: str = "Metadata",
    *,
    resource_version: str | None = None,
    continue_token: str | None = None,
    remaining_item_count: int | None = None,
    with_columns: bool = True,
) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of `objs`.

    `include_object` is the request's includeObject: "Object" puts the whole object in
    each row (kubectl --sort-by asks for it), "None" puts none, anything else (the
    default "Metadata") a PartialObjectMetadata. `with_columns=False` leaves
    columnDefinitions null, as Kubernetes does for noHeaders (later watch events).
    """
    printer = _printer(kind)
    rows: list[dict[str, Any]] = []
    for obj in objs:
        row: dict[str, Any] = {"cells": printer.row(obj, now)}
        conditions = printer.conditions(obj) if printer.conditions else None
        if conditions:
            row["conditions"] = conditions
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "None":
            row["object"] = None
        else:
            row["object"] = partial_object_metadata(obj)
        rows.append(row)
    metadata: dict[str, Any] = {}
    if resource_version:
        metadata["resourceVersion"] = resource_version
    if continue_token:
        metadata["continue"] = continue_token
    if remaining_item_count is not None:
        metadata["remainingItemCount"] = remaining_item_count
    return {
        "kind": "Table",
        "apiVersion": TABLE_API_VERSION,
        "metadata": metadata,
        "columnDefinitions": [c.as_dict() for c in printer.columns] if with_columns else None,
        "rows": rows,
    }
