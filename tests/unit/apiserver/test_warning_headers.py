"""Warning headers always carry: Go-quoted text, Kubernetes' de-duplication and size cap."""

from __future__ import annotations

from aiohttp import web

from kubelite.apiserver.handlers import json_response
from kubelite.apiserver.warning_headers import (
    TRUNCATE_AT_TOTAL_RUNES,
    TRUNCATE_ITEM_RUNES,
    go_quote,
    warning_header,
    warning_headers,
)


def test_go_quote_escapes_what_a_header_cannot_carry() -> None:
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("x\x01y\n\r\t\x7f") == '"x\\x01y\\n\\r\\t\\x7f"'
    assert go_quote("caf\u00e9 \u2028 \ud800") == '"caf\u00e9 \\u2028 \\ud800"'


def test_warning_header_has_kubernetes_shape() -> None:
    assert warning_header('unknown field "spec.x"') == '299 - "unknown field \\"spec.x\\""'


def test_header_values_hold_no_control_character() -> None:
    for value in warning_headers([f"unknown field \"{chr(c)}\"" for c in range(0, 0x2030)]):
        assert not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)


def test_warnings_are_deduplicated_and_truncated_past_4k() -> None:
    assert warning_headers(["a", "a", "", "b"]) == [warning_header("a"), warning_header("b")]
    many = [f"{i:04d}" + "x" * 600 for i in range(40)]
    headers = warning_headers(many)
    assert all(len(h) <= TRUNCATE_ITEM_RUNES + 10 for h in headers)
    assert len(headers) == TRUNCATE_AT_TOTAL_RUNES // TRUNCATE_ITEM_RUNES


async def test_a_response_with_a_control_character_warning_is_sent() -> None:
    response = json_response({"kind": "ConfigMap"}, 201, ['unknown field "x\x01y"'])
    assert isinstance(response, web.Response)
    assert response.headers.getall("Warning") == ['299 - "unknown field \\"x\\x01y\\""']
