"""Warning headers as Kubernetes writes them, always something a header can carry.

A warning names what the client sent (an unknown field, a deprecated value), so it may hold any
character. As k8s.io/apiserver's warning recorder does: warnings are de-duplicated, the text is
quoted the way Go's strconv.Quote does (control and other unprintable characters escaped), and
when they total more than 4,096 characters each is cut to 256 and the rest are dropped. Without
this, aiohttp refuses the header after the write has been committed and the client gets no
answer at all (and a retry then meets 409 AlreadyExists).
"""

from __future__ import annotations

from collections.abc import Iterable

TRUNCATE_AT_TOTAL_RUNES = 4 * 1024
TRUNCATE_ITEM_RUNES = 256

_ESCAPES = {
    "\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
    "\\": "\\\\", '"': '\\"',
}


def go_quote(text: str) -> str:
    """`text` as Go's strconv.Quote writes it: printable characters kept, the rest escaped."""
    out = ['"']
    for ch in text:
        escaped = _ESCAPES.get(ch)
        if escaped is not None:
            out.append(escaped)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def warning_header(text: str) -> str:
    """One RFC 7234 warning as Kubernetes sends it: code 299, no agent, the quoted text."""
    return f"299 - {go_quote(text)}"


def warning_headers(texts: Iterable[str]) -> list[str]:
    """The Warning header values for these warnings, within Kubernetes' size allowance."""
    ordered = list(dict.fromkeys(t for t in texts if t))
    if sum(len(t) for t in ordered) <= TRUNCATE_AT_TOTAL_RUNES:
        return [warning_header(t) for t in ordered]
    headers, written = [], 0
    for text in ordered:
        if written >= TRUNCATE_AT_TOTAL_RUNES:
            break
        text = text[:TRUNCATE_ITEM_RUNES]
        written += len(text)
        headers.append(warning_header(text))
    return headers
