"""Name and label checks with Kubernetes' texts."""

from __future__ import annotations

import pytest

from kubelite.api.validation import names

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
             "'-' or '.', and must start and end with an alphanumeric character (e.g. "
             "'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
         "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
         "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


@pytest.mark.parametrize(("value", "ok"), [
    ("web", True), ("web-1.example.com", True), ("Bad_Name", False), ("-a", False),
    ("a" * 253, True), ("a" * 254, False), ("", False),
])
def test_dns_subdomain(value: str, ok: bool) -> None:
    assert (names.is_dns1123_subdomain(value) == []) is ok


def test_dns_subdomain_message() -> None:
    assert names.is_dns1123_subdomain("Bad_Name") == [SUBDOMAIN]
    assert names.is_dns1123_subdomain("a" * 254)[0] == "must be no more than 253 characters"


def test_dns_label_message() -> None:
    assert names.is_dns1123_label("a.b") == [LABEL]


def test_dns1035_label_must_start_with_letter() -> None:
    assert names.is_dns1035_label("1abc") != []
    assert names.is_dns1035_label("abc-1") == []


@pytest.mark.parametrize(("key", "errors"), [
    ("app", []),
    ("example.com/app", []),
    ("/app", ["prefix part must be non-empty"]),
    ("a/b/c", ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and "
               "must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',"
               "  or '123-abc', regex used for validation is "
               "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
               "and '/' (e.g. 'example.com/MyName')"]),
    ("-app", ["name part must consist of alphanumeric characters, '-', '_' or '.', and must "
              "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
              "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]),
])
def test_qualified_name(key: str, errors: list[str]) -> None:
    assert names.is_qualified_name(key) == errors


def test_label_value() -> None:
    assert names.is_valid_label_value("") == []
    assert names.is_valid_label_value("a" * 64)[0] == "must be no more than 63 characters"


@pytest.mark.parametrize(("port", "errors"), [
    ("http", []),
    ("HTTP", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
              "must contain at least one letter (a-z)"]),
    ("123", ["must contain at least one letter (a-z)"]),
    ("a--b", ["must not contain consecutive hyphens"]),
    ("-ab", ["must not begin or end with a hyphen"]),
    ("abcdefghijklmnop", ["must be no more than 15 characters"]),
])
def test_port_name(port: str, errors: list[str]) -> None:
    assert names.is_valid_port_name(port) == errors


def test_generate_name_may_end_with_dash() -> None:
    assert names.name_is_dns_subdomain("web-", prefix=True) == []
    assert names.name_is_dns_subdomain("web-") != []
