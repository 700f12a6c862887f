"""Integer query parameters read as Kubernetes' parameter codec reads them.

ListOptions, DeleteOptions and PodLogOptions carry int64 fields, parsed with Go's
strconv.ParseInt(s, 10, 64): anything else is a 400 BadRequest with Go's words
(`strconv.ParseInt: parsing "0.1s": invalid syntax`), never a 500 deeper down.
resourceVersion is the store's uint64 revision (strconv.ParseUint); Kubernetes answers a bad
one with a 500 (kubernetes#101350), this server with the same words as a 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kubelite.api import status as st
from kubelite.apiserver.warning_headers import go_quote

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1
_SIGNED = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"[0-9]+")


def _go_parse(text: str, func: str, pattern: re.Pattern[str], low: int, high: int) -> int:
    """Go's strconv parse of a base-10 integer: the value, or ValueError with Go's message."""
    if not pattern.fullmatch(text):
        raise ValueError(f"strconv.{func}: parsing {_go_text(text)}: invalid syntax")
    # Digits only from here; a long run is out of range without converting it.
    if len(text.lstrip("+-").lstrip("0")) > 20 or not low <= int(text) <= high:
        raise ValueError(f"strconv.{func}: parsing {_go_text(text)}: value out of range")
    return int(text)


def _go_text(text: str) -> str:
    """The offending text as Go's %q shows it (cut to 256: it goes into a message)."""
    return go_quote(text[:256])


def parse_int64(text: str) -> int:
    """strconv.ParseInt(text, 10, 64), ValueError with Go's message otherwise."""
    return _go_parse(text, "ParseInt", _SIGNED, INT64_MIN, INT64_MAX)


def query_int64(query: Mapping[str, str], name: str) -> int | None:
    """An int64 query parameter, None when absent, 400 BadRequest when it is not one."""
    text = query.get(name)
    if text is None:
        return None
    try:
        return parse_int64(text)
    except ValueError as e:
        raise st.BadRequest(str(e)) from None


def parse_resource_version(text: str) -> int:
    """A resourceVersion as the store's revision ("" and "0" are 0); 400 BadRequest otherwise."""
    if text in ("", "0"):
        return 0
    try:
        return _go_parse(text, "ParseUint", _UNSIGNED, 0, UINT64_MAX)
    except ValueError as e:
        raise st.BadRequest(f"resourceVersion: Invalid value: {_go_text(text)}: {e}") from None
