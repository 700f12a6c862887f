"""Tables of custom objects: Name, then the CRD version's printer columns (Age when none)."""

from __future__ import annotations

import datetime as dt

from kubelite.api.crd.tables import cell, printer

NOW = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
OBJ = {"metadata": {"name": "w", "creationTimestamp": "2025-01-01T11:00:00Z"},
       "spec": {"size": 3, "ratio": 0.5, "on": True, "labels": {"a": "b"}}}


def test_default_columns_are_name_and_age() -> None:
    p = printer([])
    assert [c.name for c in p.columns] == ["Name", "Age"]
    assert p.columns[0].format == "name"
    assert p.row(OBJ, NOW) == ["w", "60m"]


def test_typed_cells_and_missing_values() -> None:
    p = printer([
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
        {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio", "priority": 1},
        {"name": "On", "type": "boolean", "jsonPath": ".spec.on"},
        {"name": "Labels", "type": "string", "jsonPath": ".spec.labels"},
        {"name": "Gone", "type": "string", "jsonPath": ".spec.gone"},
    ])
    assert p.row(OBJ, NOW) == ["w", 3, 0.5, True, '{"a":"b"}', None]
    assert [c.priority for c in p.columns] == [0, 0, 1, 0, 0, 0]


def test_cells_of_the_wrong_type_are_empty() -> None:
    assert cell("integer", "three", NOW) is None
    assert cell("boolean", "true", NOW) is None
    assert cell("date", "yesterday", NOW) == "<invalid>"
    assert cell("string", 7, NOW) == "7"
    assert cell("string", False, NOW) == "false"
