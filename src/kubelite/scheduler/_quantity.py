"""A small private parser for resource quantities ("100m", "1.5", "128Mi", "1G", "2e3").

Temporary: `api/quantity.py` (parse_quantity) is being written in parallel; when it lands,
this module should delegate to it. Only what scheduling needs: cpu in millicores, everything
else as an integer (bytes, counts), rounding up like resource.Quantity.Value()/MilliValue().
"""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal, InvalidOperation

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1), "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
_RE = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def parse(value: str | int | float) -> Decimal:
    """The exact decimal value of a quantity; ValueError if it is not one."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    m = _RE.match(value.strip())
    if not m or m.group(2) not in _SUFFIXES:
        raise ValueError(f"quantities must match the regular expression: {value!r}")
    try:
        return Decimal(m.group(1)) * _SUFFIXES[m.group(2)]
    except InvalidOperation as e:
        raise ValueError(f"invalid quantity {value!r}") from e


# Clusters repeat a handful of quantities ("100m", "500Mi"): remember their values.
@functools.lru_cache(maxsize=4096)
def milli_value(value: str | int | float) -> int:
    """The value in thousandths, rounded up (cpu "100m" -> 100, "1" -> 1000)."""
    return math.ceil(parse(value) * 1000)


@functools.lru_cache(maxsize=4096)
def int_value(value: str | int | float) -> int:
    """The value as an integer, rounded up (memory "1Ki" -> 1024)."""
    return math.ceil(parse(value))
