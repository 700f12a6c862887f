"""The apiserver's default table for kinds without a printer (rest.DefaultTableConvertor).

Kubernetes prints LimitRange this way, for instance: `NAME  CREATED AT`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.tables._base import (
    OBJECT_META,
    Column,
    Obj,
    Printer,
    columns,
    doc,
    meta,
    name,
    name_column,
    parse_time,
)

COLUMNS = columns(
    name_column(),
    Column("Created At", "date", doc(OBJECT_META, "creationTimestamp")),
)


def created_at(obj: Obj) -> str:
    """creationTimestamp as Go's time.RFC3339 in UTC; unset prints Go's zero time."""
    t = parse_time(meta(obj).get("creationTimestamp"))
    if t is None:
        return "0001-01-01T00:00:00Z"
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), created_at(obj)]


PRINTER = Printer(COLUMNS, default_row)
