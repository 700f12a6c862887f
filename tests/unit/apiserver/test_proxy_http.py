"""pods/proxy and services/proxy names: [scheme:]name[:port], as apimachinery splits them."""

from __future__ import annotations

import pytest

from kubelite.apiserver.proxy_http import split_scheme_name_port


@pytest.mark.parametrize(("value", "expected"), [
    ("web", ("http", "web", "")),
    ("web:8080", ("http", "web", "8080")),
    ("https:web:8443", ("https", "web", "8443")),
    ("http:web:", ("http", "web", "")),
    ("web:http", ("http", "web", "http")),
])
def test_split(value: str, expected: tuple[str, str, str]) -> None:
    assert split_scheme_name_port(value) == expected


@pytest.mark.parametrize("value", ["ftp:web:21", ":8080", "a:b:c:d", ""])
def test_invalid(value: str) -> None:
    assert split_scheme_name_port(value) is None
