"""`kubectl get priorityclasses` (printPriorityClass in pkg/printers/internalversion)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.tables._base import (
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    doc,
    name,
    name_column,
)

PRIORITY_CLASS = "io.k8s.api.scheduling.v1.PriorityClass"

PRIORITY_CLASS_COLUMNS = columns(
    name_column(),
    Column("Value", "integer", doc(PRIORITY_CLASS, "value")),
    Column("Global-Default", "boolean", doc(PRIORITY_CLASS, "globalDefault")),
    age_column(),
    Column("PreemptionPolicy", "string", doc(PRIORITY_CLASS, "preemptionPolicy")),
)


def priority_class_row(pc: Obj, now: dt.datetime) -> list[Any]:
    return [name(pc), pc.get("value") or 0, bool(pc.get("globalDefault")), age(pc, now),
            pc.get("preemptionPolicy") or ""]


PRIORITY_CLASS_PRINTER = Printer(PRIORITY_CLASS_COLUMNS, priority_class_row)
