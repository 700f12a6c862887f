"""`kubectl get` for resourcequotas and poddisruptionbudgets."""

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
    name,
    name_column,
    quantity,
    spec,
    status,
)

RESOURCE_QUOTA_COLUMNS = columns(
    name_column(),
    Column("Request", "string", "Request represents a minimum amount of cpu/memory that a "
           "container may consume."),
    Column("Limit", "string", "Limits control the maximum amount of cpu/memory that a container "
           "may use independent of contention on the node."),
    age_column(),
)


def resource_quota_row(quota: Obj, now: dt.datetime) -> list[Any]:
    """`pods: 1/10, requests.cpu: 500m/2` and, apart, the `limits.*` resources."""
    hard = status(quota).get("hard") or {}
    used = status(quota).get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        pieces = resource.split(".")
        target = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        target.append(f"{resource}: {quantity(used, resource)}/{quantity(hard, resource)}")
    return [name(quota), ", ".join(requests), ", ".join(limits), age(quota, now)]


PDB_COLUMNS = columns(
    name_column(),
    Column("Min Available", "string", "The minimum number of pods that must be available."),
    Column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
    Column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
    age_column(),
)


def _int_or_string(value: Any) -> str:
    return "N/A" if value is None else str(value)


def pdb_row(pdb: Obj, now: dt.datetime) -> list[Any]:
    pdb_spec = spec(pdb)
    return [
        name(pdb), _int_or_string(pdb_spec.get("minAvailable")),
        _int_or_string(pdb_spec.get("maxUnavailable")),
        status(pdb).get("disruptionsAllowed") or 0, age(pdb, now),
    ]


RESOURCE_QUOTA = Printer(RESOURCE_QUOTA_COLUMNS, resource_quota_row)
PDB = Printer(PDB_COLUMNS, pdb_row)
