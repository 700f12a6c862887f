"""Canonical quantities on write: what Kubernetes stores is never what the user typed.

Resource lists (requests, limits, capacity, quota...) are also rounded up to milli-units, as
Kubernetes' SetDefaults_ResourceList does. Values that do not parse are left alone for
validation to report.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from kubelite.api.quantity import QuantityError, canonical, parse_quantity, round_up


def canonical_value(value: Any) -> Any:
    """The canonical text of one quantity, or the value unchanged when it is not one."""
    try:
        return canonical(parse_quantity(value))
    except QuantityError:
        return value


def canonical_resource_list(resources: MutableMapping[str, Any] | None) -> None:
    """Round each quantity up to milli-units and write it canonically, in place."""
    if not resources:
        return
    for name, value in resources.items():
        try:
            resources[name] = canonical(round_up(parse_quantity(value)))
        except QuantityError:
            pass
