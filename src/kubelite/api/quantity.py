"""Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource), exactly.

A quantity such as "500m", "128Mi" or "1e3" is a number with a suffix. Kubernetes keeps the
value exactly, rounding anything finer than a nano-unit *up* (so asking for a tiny amount still
asks for something), and remembers which of three formats the user wrote so that `canonical`
writes it back the same way:

- BinarySI: Ki Mi Gi Ti Pi Ei (powers of 1024)
- DecimalSI: n u m "" k M G T P E (powers of 1000)
- DecimalExponent: 1e3, 1E-3

Here the value is held as an integer count of nano-units, which makes every comparison and sum
exact. `canonical(parse_quantity(s))` is what Kubernetes stores and prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Format = Literal["BinarySI", "DecimalSI", "DecimalExponent"]

FORMAT_ERROR = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
SUFFIX_ERROR = "unable to parse quantity's suffix"
NUMERIC_ERROR = "unable to parse numeric part of quantity"

# Bounds. Kubernetes holds quantities as arbitrary-precision decimals with an int32 exponent,
# so "1e999999999" costs it nothing; here values are exact integers of nano-units, so the
# magnitude and the digit count are capped (refused as Invalid, naming the field) before any
# arithmetic: an int64 count of the largest SI suffix (E) is the largest quantity.
MAX_DIGITS = 64
MAX_QUANTITY = "9223372036854775807E"
TOO_MANY_DIGITS = f"must have at most {MAX_DIGITS} significant digits"
TOO_LARGE = f"must be less than or equal to {MAX_QUANTITY}"
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_MAX_EXPONENT_CHARS = 12  # "e" and a sign and the ten digits of an int32

NANO = 10**9
# Binary quantities are capped at the largest int64, as Kubernetes does.
_MAX_BINARY_NANOS = (2**63 - 1) * NANO
_MAX_NANOS = (2**63 - 1) * 10**18 * NANO
_MAX_LEADING_PLACE = len(str(_MAX_NANOS // NANO)) + 1  # +1: the exact check decides below it

_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12,
                     "P": 15, "E": 18}
_BINARY_BY_POWER = {0: "", **{v: k for k, v in _BINARY_SUFFIXES.items()}}
_DECIMAL_BY_EXPONENT = {v: k for k, v in _DECIMAL_SUFFIXES.items()}

# Number, then suffix letters, then an optional signed exponent: the shape Kubernetes accepts.
_SHAPE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")


class QuantityError(ValueError):
    """A string that is not a Kubernetes quantity; str(error) is Kubernetes' message."""


@dataclass(frozen=True, eq=False)
class Quantity:
    """An exact resource quantity: `nanos` nano-units, written back in `format`."""

    nanos: int
    format: Format = "DecimalSI"

    # Comparison and hashing are by value only: "1Gi" == "1024Mi" == "1073741824".
    def __eq__(self, other: object) -> bool:
        if isinstance(other, Quantity):
            return self.nanos == other.nanos
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.nanos)

    def __lt__(self, other: Quantity) -> bool:
        return self.nanos < other.nanos

    def __le__(self, other: Quantity) -> bool:
        return self.nanos <= other.nanos

    def __gt__(self, other: Quantity) -> bool:
        return self.nanos > other.nanos

    def __ge__(self, other: Quantity) -> bool:
        return self.nanos >= other.nanos

    def __add__(self, other: Quantity) -> Quantity:
        # As Kubernetes' Quantity.Add: a zero takes the format of what is added to it.
        fmt = other.format if self.nanos == 0 else self.format
        return Quantity(self.nanos + other.nanos, fmt)

    def __sub__(self, other: Quantity) -> Quantity:
        fmt = other.format if self.nanos == 0 else self.format
        return Quantity(self.nanos - other.nanos, fmt)

    def __neg__(self) -> Quantity:
        return Quantity(-self.nanos, self.format)

    def __str__(self) -> str:
        return canonical(self)

    def __repr__(self) -> str:
        return f"Quantity({canonical(self)!r})"

    def is_zero(self) -> bool:
        return self.nanos == 0

    def sign(self) -> int:
        return (self.nanos > 0) - (self.nanos < 0)

    def as_fraction(self) -> Fraction:
        return Fraction(self.nanos, NANO)

    def value(self) -> int:
        """The value in whole units, rounded up (Kubernetes' Value())."""
        return _round_away(self.nanos, NANO)

    def milli_value(self) -> int:
        """The value in milli-units, rounded up (Kubernetes' MilliValue())."""
        return _round_away(self.nanos, NANO // 1000)


def _round_away(nanos: int, unit: int) -> int:
    """nanos / unit, rounded away from zero as Kubernetes' ScaledValue does."""
    q, r = divmod(abs(nanos), unit)
    if r:
        q += 1
    return q if nanos >= 0 else -q


def _parse_suffix(suffix: str) -> tuple[int, int, Format]:
    """(base, exponent, format) for a suffix, or QuantityError."""
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], "BinarySI"
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], "DecimalSI"
    # Kubernetes reads the exponent as an int32 (strconv.ParseInt(..., 10, 32)).
    if 1 < len(suffix) <= _MAX_EXPONENT_CHARS and suffix[0] in "eE":
        try:
            exponent = int(suffix[1:])
        except ValueError:
            pass
        else:
            if _INT32_MIN <= exponent <= _INT32_MAX:
                return 10, exponent, "DecimalExponent"
    raise QuantityError(SUFFIX_ERROR)


def parse_quantity(s: str | int | float) -> Quantity:
    """Parse a quantity as Kubernetes does; JSON numbers are read as their text.

    Bounded: at most MAX_DIGITS significant digits and a magnitude up to MAX_QUANTITY, checked
    on the text before any arithmetic, so no input costs more than a few microseconds.
    """
    if isinstance(s, bool):
        raise QuantityError(FORMAT_ERROR)
    text = repr(s) if isinstance(s, float) else str(s)
    text = text.strip()
    if not text:
        raise QuantityError(FORMAT_ERROR)
    m = _SHAPE.fullmatch(text)
    if m is None:
        raise QuantityError(FORMAT_ERROR)
    sign, whole, frac, suffix = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    if not whole and not frac:
        raise QuantityError(NUMERIC_ERROR)
    base, exponent, fmt = _parse_suffix(suffix)
    magnitude = _nanos(whole.lstrip("0"), frac.rstrip("0"), base, exponent)
    if fmt == "BinarySI":
        magnitude = min(magnitude, _MAX_BINARY_NANOS)
        if 0 < magnitude < NANO:
            fmt = "DecimalSI"
    return Quantity(-magnitude if sign == "-" else magnitude, fmt)


def _nanos(whole: str, frac: str, base: int, exponent: int) -> int:
    """|whole.frac| * base**exponent in nano-units, rounded up; bounded before computing.

    `whole` carries no leading and `frac` no trailing zeros.
    """
    if len(whole) + len(frac) > MAX_DIGITS:
        raise QuantityError(TOO_MANY_DIGITS)
    digits = (whole + frac).lstrip("0")
    if not digits:
        return 0
    # Decimal position of the leading digit once the suffix is applied (binary suffixes add
    # at most 19 places, 2**60 < 10**19): far above the cap is refused, far below it rounds
    # up to one nano-unit, and only what lies between is computed exactly.
    leading = len(digits) - len(frac) + (exponent if base == 10 else 0)
    if base == 2:
        leading += 19
    if leading > _MAX_LEADING_PLACE:
        if base == 2:
            return _MAX_BINARY_NANOS
        raise QuantityError(TOO_LARGE)
    if leading < -(9 + MAX_DIGITS + 19):
        return 1
    value = Fraction(int(digits), 10 ** len(frac)) * Fraction(base) ** exponent * NANO
    nanos = -((-value.numerator) // value.denominator)
    if base == 10 and nanos > _MAX_NANOS:
        raise QuantityError(TOO_LARGE)
    return nanos


def _remove_factors(value: int, base: int) -> tuple[int, int]:
    times = 0
    while value != 0 and value % base == 0:
        value //= base
        times += 1
    return value, times


def canonical(q: Quantity | str | int | float) -> str:
    """The text Kubernetes stores for a quantity ("0.5" -> "500m", "1024Mi" -> "1Gi")."""
    if not isinstance(q, Quantity):
        q = parse_quantity(q)
    if q.nanos == 0:
        return "0"
    fmt = q.format
    if fmt == "BinarySI":
        # Small or fractional binary values are written in decimal so nothing is lost.
        if -1024 * NANO < q.nanos < 1024 * NANO or q.nanos % NANO:
            fmt = "DecimalSI"
    if fmt == "BinarySI":
        amount, times = _remove_factors(q.nanos // NANO, 1024)
        return f"{amount}{_BINARY_BY_POWER[times * 10]}"
    amount, times = _remove_factors(q.nanos, 10)
    exponent = times - 9
    shift = exponent % 3
    amount *= 10**shift
    exponent -= shift
    if fmt == "DecimalExponent":
        return f"{amount}e{exponent}" if exponent else str(amount)
    suffix = _DECIMAL_BY_EXPONENT.get(exponent)
    if suffix is None:
        return f"{amount}e{exponent}"
    return f"{amount}{suffix}"


def round_up(q: Quantity, scale: int = -3) -> Quantity:
    """Round away from zero to 10**scale units (Kubernetes' RoundUp; -3 is milli-units)."""
    unit = 10 ** (scale + 9)
    if unit <= 1:
        return q
    return Quantity(_round_away(q.nanos, unit) * unit, q.format)


def is_quantity(s: object) -> bool:
    """True when `s` parses as a quantity."""
    if not isinstance(s, str | int | float):
        return False
    try:
        parse_quantity(s)
    except QuantityError:
        return False
    return True
