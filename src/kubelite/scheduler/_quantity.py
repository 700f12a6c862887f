"""Scheduling's view of resource quantities: cpu in millicores, everything else as an integer.

Values come from `api/quantity.py` (one bounded parser for the whole tree), rounded up like
resource.Quantity.Value()/MilliValue(); clusters repeat a handful of quantities ("100m",
"500Mi"), so the results are remembered. Values are clamped to int64, as the scheduler's
per-node arrays (and Kubernetes' own int64 accessors) hold them.
"""

from __future__ import annotations

import functools

from kubelite.api.quantity import parse_quantity

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _clamp(value: int) -> int:
    return min(max(value, _INT64_MIN), _INT64_MAX)


@functools.lru_cache(maxsize=4096)
def milli_value(value: str | int | float) -> int:
    """The value in thousandths, rounded up (cpu "100m" -> 100, "1" -> 1000)."""
    return _clamp(parse_quantity(value).milli_value())


@functools.lru_cache(maxsize=4096)
def int_value(value: str | int | float) -> int:
    """The value as an integer, rounded up (memory "1Ki" -> 1024)."""
    return _clamp(parse_quantity(value).value())
