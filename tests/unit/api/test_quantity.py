"""Resource quantities: parsing, canonical form and arithmetic, as Kubernetes does them."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubelite.api.quantity import (
    FORMAT_ERROR,
    MAX_QUANTITY,
    NANO,
    NUMERIC_ERROR,
    SUFFIX_ERROR,
    TOO_LARGE,
    TOO_MANY_DIGITS,
    QuantityError,
    canonical,
    parse_quantity,
    round_up,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("500m", "500m"), ("0.5", "500m"), ("1G", "1G"), ("1e3", "1e3"), ("1E-3", "1e-3"),
    ("10e2", "1e3"), ("128Mi", "128Mi"), ("1024Mi", "1Gi"), ("1.5Gi", "1536Mi"),
    ("0.5Ki", "512"), ("1023", "1023"), ("1000", "1k"), ("1500", "1500"), ("1000m", "1"),
    ("0.1n", "1n"), ("-500m", "-500m"), ("0", "0"), ("-0", "0"), (".5", "500m"),
    ("1.", "1"), ("+1", "1"), (0.1, "100m"), (2, "2"), ("  3  ", "3"), ("100Ki", "100Ki"),
])
def test_canonical_form(text: str | int | float, expected: str) -> None:
    assert canonical(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", FORMAT_ERROR), ("x", FORMAT_ERROR), ("1.2.3", FORMAT_ERROR), ("5 Mi", FORMAT_ERROR),
    ("5kk", SUFFIX_ERROR), ("1e", SUFFIX_ERROR), ("5e+", SUFFIX_ERROR), ("1Ki3", SUFFIX_ERROR),
    (".", NUMERIC_ERROR),
])
def test_bad_quantities_carry_kubernetes_message(text: str, message: str) -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity(text)
    assert str(err.value) == message


def test_format_error_text_is_kubernetes() -> None:
    assert FORMAT_ERROR == ("quantities must match the regular expression "
                            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")


def test_values_round_up() -> None:
    assert parse_quantity("1.5").value() == 2
    assert parse_quantity("0.1m").milli_value() == 1
    assert parse_quantity("128Mi").value() == 134217728
    assert parse_quantity("-1.5").value() == -2


def test_comparison_is_by_value_across_formats() -> None:
    assert parse_quantity("1Gi") == parse_quantity("1024Mi") == parse_quantity(1073741824)
    assert parse_quantity("500m") < parse_quantity("1")
    assert parse_quantity("1k") > parse_quantity("999")
    assert len({parse_quantity("1"), parse_quantity("1000m")}) == 1


def test_addition_keeps_left_format_unless_zero() -> None:
    assert canonical(parse_quantity("1Gi") + parse_quantity("512Mi")) == "1536Mi"
    assert canonical(parse_quantity("0") + parse_quantity("1Gi")) == "1Gi"
    assert canonical(parse_quantity("1") - parse_quantity("250m")) == "750m"


def test_round_up_to_milli() -> None:
    assert canonical(round_up(parse_quantity("0.1m"))) == "1m"
    assert canonical(round_up(parse_quantity("1.0001"))) == "1001m"
    assert canonical(round_up(parse_quantity("-0.1m"))) == "-1m"


def test_binary_values_are_capped_at_int64() -> None:
    assert parse_quantity("16Ei").value() == 2**63 - 1


decimal_suffix = st.sampled_from(["n", "u", "m", "", "k", "M", "G", "T", "P", "E"])
binary_suffix = st.sampled_from(["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"])


@given(st.integers(min_value=-10**6, max_value=10**6), decimal_suffix)
def test_decimal_canonical_round_trips(n: int, suffix: str) -> None:
    q = parse_quantity(f"{n}{suffix}")
    text = canonical(q)
    assert parse_quantity(text) == q
    assert canonical(text) == text
    if n:
        # Decimal quantities stay decimal: no binary suffix ever appears.
        assert not text.endswith("i")


@given(st.integers(min_value=1, max_value=10**6), binary_suffix)
def test_binary_canonical_is_reduced(n: int, suffix: str) -> None:
    q = parse_quantity(f"{n}{suffix}")
    text = canonical(q)
    assert parse_quantity(text) == q
    digits = text.rstrip("KMGTPEi")
    if text.endswith("i"):
        # The mantissa is as small as it can be: no whole 1024 factor is left in it.
        assert int(digits) % 1024 != 0 or text.endswith("Ei")


@given(st.integers(min_value=-10**9, max_value=10**9), st.integers(min_value=0, max_value=9))
def test_fractions_round_up_to_nano(whole: int, places: int) -> None:
    text = f"{whole}.{'0' * places}1"
    q = parse_quantity(text)
    assert q.nanos >= abs(whole) * 10**9 if whole >= 0 else q.nanos <= whole * 10**9
    assert parse_quantity(canonical(q)) == q


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(-10**12, 10**12))
def test_add_and_sub_are_exact(a: int, b: int) -> None:
    qa, qb = parse_quantity(f"{a}m"), parse_quantity(f"{b}m")
    assert (qa + qb).milli_value() == a + b
    assert (qa - qb).milli_value() == a - b


@pytest.mark.parametrize("text", [
    "1e999999999", "1e10000000", "1e2147483647", "9" * 40, "1e37", "10000000000000000000E",
    "-1e999999999",
])
def test_out_of_range_quantities_are_refused_at_once(text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(QuantityError) as err:
        parse_quantity(text)
    assert str(err.value) == TOO_LARGE
    assert time.perf_counter() - start < 0.05  # microseconds in fact; never an exact 10**exp


@pytest.mark.parametrize("text", ["1e2147483648", "1e-2147483649", "1e" + "9" * 4000])
def test_exponents_beyond_int32_are_a_suffix_error_as_in_kubernetes(text: str) -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity(text)
    assert str(err.value) == SUFFIX_ERROR


def test_digits_are_capped_before_conversion() -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity("1" * 100_000)
    assert str(err.value) == TOO_MANY_DIGITS
    assert canonical("0" * 100_000 + "1") == "1"  # leading zeros carry no digit
    assert canonical("1." + "0" * 100_000) == "1"  # nor trailing ones


@pytest.mark.parametrize(("text", "expected"), [
    (MAX_QUANTITY, MAX_QUANTITY), ("1e36", "1e36"), ("1e-999999999", "1e-9"),
    ("0e999999999", "0"), ("-1e-2147483648", "-1e-9"), ("1e-90", "1e-9"),
    ("1000000Ei", "9223372036854775807"),
    ("0." + "0" * 60 + "1Ei", "1n"), ("18446744073709551616", "18446744073709551616"),
])
def test_edges_of_the_range(text: str, expected: str) -> None:
    assert canonical(text) == expected


@given(st.integers(min_value=-40, max_value=40), st.integers(min_value=1, max_value=10**20))
def test_exponents_inside_the_range_stay_exact(exponent: int, mantissa: int) -> None:
    text = f"{mantissa}e{exponent}"
    try:
        q = parse_quantity(text)
    except QuantityError as e:
        assert str(e) == TOO_LARGE
        assert mantissa * 10**exponent > 2**63 * 10**18 - 10**18
        return
    exact = Fraction(mantissa) * Fraction(10) ** exponent * NANO
    assert q.nanos == -((-exact.numerator) // exact.denominator)
