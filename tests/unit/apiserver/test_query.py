"""Integer query parameters parsed as Kubernetes' parameter codec does (Go's strconv)."""

from __future__ import annotations

import pytest

from kubelite.api import status as st
from kubelite.apiserver.query import parse_int64, parse_resource_version, query_int64


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("+5", 5), ("-7", -7), ("9223372036854775807", 2**63 - 1),
                                             ("-9223372036854775808", -(2**63)), ("007", 7)])
def test_int64_values(text: str, value: int) -> None:
    assert parse_int64(text) == value


@pytest.mark.parametrize(("text", "message"), [
    ("99999999999999999999", 'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
    ("9223372036854775808", 'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
    ("9" * 100_000, "value out of range"),
    ("0.1s", 'strconv.ParseInt: parsing "0.1s": invalid syntax'),
    ("1e3", "invalid syntax"), ("", "invalid syntax"), (" 1", "invalid syntax"),
    ("1\x00", 'strconv.ParseInt: parsing "1\\x00": invalid syntax'),
])
def test_bad_int64_values_carry_go_words(text: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_int64(text)
    assert message in str(err.value)


def test_query_int64_is_a_bad_request() -> None:
    assert query_int64({}, "limit") is None
    assert query_int64({"limit": "500"}, "limit") == 500
    with pytest.raises(st.BadRequest) as err:
        query_int64({"limit": "99999999999999999999"}, "limit")
    assert err.value.code == 400


def test_resource_version_is_a_uint64() -> None:
    assert parse_resource_version("") == 0 and parse_resource_version("42") == 42
    for bad in ("-1", "abc", "18446744073709551616"):
        with pytest.raises(st.BadRequest) as err:
            parse_resource_version(bad)
        assert str(err.value).startswith(f'resourceVersion: Invalid value: "{bad}": strconv.ParseUint')
