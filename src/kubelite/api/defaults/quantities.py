"""Canonical quantities on write: what Kubernetes stores is never what the user typed.

Resource lists (requests, limits, capacity, quota...) are also rounded up to milli-units, as
Kubernetes' SetDefaults_ResourceList does. Values that do not parse are left alone for
validation to report.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from functools import lru_cache
from typing import Any

from kubelite.api.quantity import Quantity, QuantityError, canonical, parse_quantity, round_up


@lru_cache(maxsize=4096, typed=True)
def _parsed(value: str | int | float) -> Quantity:
    return parse_quantity(value)


def parse_quantity_cached(value: Any) -> Quantity:
    """`parse_quantity`, remembered: every pod brings the same few quantities ("100m",
    "64Mi"), and parsing one costs several microseconds. Quantities are immutable."""
    try:
        return _parsed(value)
    except TypeError:  # unhashable: not a quantity, let parse_quantity say so
        return parse_quantity(value)


@lru_cache(maxsize=4096, typed=True)
def _milli_canonical(value: str | int | float) -> str:
    return canonical(round_up(parse_quantity(value)))


def canonical_value(value: Any) -> Any:
    """The canonical text of one quantity, or the value unchanged when it is not one."""
    try:
        return canonical(parse_quantity_cached(value))
    except QuantityError:
        return value


def canonical_resource_list(resources: MutableMapping[str, Any] | None) -> None:
    """Round each quantity up to milli-units and write it canonically, in place."""
    if not resources:
        return
    for name, value in resources.items():
        try:
            resources[name] = _milli_canonical(value)
        except (QuantityError, TypeError):
            pass
