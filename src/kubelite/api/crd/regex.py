"""Schema `pattern`s, matched with Go's semantics and never in more than linear time.

Kubernetes matches with Go's regexp (RE2: linear, no backtracking). cel-cpp's `matches` is
RE2 too, but each call costs about 10 µs of binding overhead, against 0.3 µs for Python's
`re`. Python's `re` backtracks, so it is used only where it cannot blow up and means the same:
the pattern compiles in Python (ASCII classes, as Go's \\d \\w \\s), has no nested unbounded
repetition, the value has no newline (Python's `$` also matches before a final one), and
(len(value)+1) ** repetitions stays under a small bound. Everything else goes to RE2.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kubelite.api.crd import cel

_STEP_BOUND = 1_000_000
_GO_ONLY = ("[:", "\\p", "\\P", "\\z", "\\Q", "\\C")  # syntax Python reads otherwise


def _repetitions(pattern: str) -> int | None:
    """How many unbounded repetitions the pattern has, or None if one is nested in another
    (the shape of catastrophic backtracking) or the pattern is too odd to judge."""
    count = 0
    depth_has_rep: list[bool] = [False]
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            i += 1
            continue
        if ch == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]" or pattern[i + 1:i + 3] == "^]":
                i += 2
        elif ch == "(":
            depth_has_rep.append(False)
        elif ch == ")":
            if len(depth_has_rep) == 1:
                return None
            inner = depth_has_rep.pop()
            quantifier = pattern[i + 1:i + 2]
            unbounded = quantifier in ("*", "+") or (
                quantifier == "{" and re.match(r"\{\d*,\d*\}", pattern[i + 1:]) is not None)
            if inner and unbounded:
                return None
            depth_has_rep[-1] = depth_has_rep[-1] or inner
        elif ch in "*+" or (ch == "{" and re.match(r"\{\d*,\d*\}", pattern[i:])):
            count += 1
            depth_has_rep[-1] = True
        i += 1
    return count


@lru_cache(maxsize=2048)
def _python(pattern: str) -> tuple[re.Pattern[str] | None, int]:
    reps = _repetitions(pattern)
    if reps is None or "(?" in pattern.replace("(?:", "").replace("(?i)", "") or any(
            s in pattern for s in _GO_ONLY):
        return None, 0
    try:
        return re.compile(pattern, re.ASCII), reps
    except re.error:
        return None, 0


def search(pattern: str, value: str) -> bool:
    """Does `pattern` match somewhere in `value`, as Go's regexp.MatchString says."""
    compiled, reps = _python(pattern)
    if compiled is not None and "\n" not in value and (len(value) + 1) ** reps <= _STEP_BOUND:
        return compiled.search(value) is not None
    return cel.regex_matches(pattern, value)


@lru_cache(maxsize=2048)
def error(pattern: str) -> str:
    """RE2's complaint about a pattern, "" when it compiles (Go accepts what RE2 accepts)."""
    try:
        cel.regex_matches(pattern, "")
    except ValueError as err:
        return str(err)
    return ""
