"""Schema patterns: Go's regexp semantics, fast where safe, RE2 (linear) everywhere else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubelite.api.crd import cel, regex


@pytest.mark.parametrize(("pattern", "reps"), [
    ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", 1),
    ("^(a+)+$", None),  # nested unbounded repetition: never given to a backtracking engine
    ("^(a|aa)*$", 1),
    (r"^\d+\.\d+$", 2),
    ("^(x{2,})+$", None),
    ("^[*+]+$", 1),  # quantifier characters inside a class are literals
    ("a{3}", 0),
])
def test_repetition_count(pattern: str, reps: int | None) -> None:
    assert regex._repetitions(pattern) == reps


@pytest.mark.parametrize(("pattern", "value", "matches"), [
    ("^[a-z]+$", "abc", True),
    ("^[a-z]+$", "abc\n", False),  # Go's $ is the end of text, Python's also before a final \n
    (r"^\d+$", "٣", False),  # Go's \d is ASCII
    ("[[:alpha:]]+", "abc", True),  # POSIX classes: RE2 only
    (r"\pL", "é", True),
    ("^(a+)+$", "a" * 30_000 + "b", False),
    ("b", "abc", True),  # unanchored: a search, as MatchString
])
def test_search_means_what_go_means(pattern: str, value: str, matches: bool) -> None:
    assert regex.search(pattern, value) is matches


def test_errors_are_re2s() -> None:
    assert regex.error("(") == "invalid regular expression: missing ): ("
    assert regex.error("(?=x)") != ""  # lookahead: Python has it, Go does not
    assert regex.error("^ok$") == ""


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", r"^\d+(\.\d+)?$", "^(a|b)*c$",
                        "^[A-Z][a-z]*$", "x+y"]),
       st.text(alphabet="abcxyz019.-AZ\n ", max_size=20))
def test_fast_path_agrees_with_re2(pattern: str, value: str) -> None:
    assert regex.search(pattern, value) == cel.regex_matches(pattern, value)
