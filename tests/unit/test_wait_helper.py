"""tests/helpers/wait.py: the poll-until helpers return the truthy value or say what never came."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.helpers.wait import eventually, until


def counter(ready_at: int) -> tuple[list[int], Callable[[], int]]:
    """A check that is falsy (0) until its `ready_at`-th call, then returns the call number."""
    calls: list[int] = []

    def check() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= ready_at else 0

    return calls, check


def test_until_returns_the_first_truthy_value() -> None:
    calls, check = counter(3)
    assert until(check, timeout=5, interval=0.001) == 3
    assert len(calls) == 3


def test_until_names_what_never_happened_and_the_last_value() -> None:
    start = time.monotonic()
    with pytest.raises(AssertionError) as err:
        until(lambda: [], timeout=0.2, what="the pod Running", interval=0.05)
    assert str(err.value) == "timed out after 0.2s waiting for the pod Running: last saw []"
    assert 0.2 <= time.monotonic() - start < 1.0


def test_until_checks_once_more_at_the_deadline() -> None:
    calls, check = counter(10**6)
    with pytest.raises(AssertionError):
        until(check, timeout=0.05, interval=10)
    assert len(calls) == 2  # once at the start, once when the deadline came


async def test_eventually_returns_the_value_of_a_plain_check() -> None:
    calls, check = counter(4)
    assert await eventually(check) == 4
    assert len(calls) == 4


async def test_eventually_awaits_an_async_check() -> None:
    seen: list[str] = []

    async def pod() -> dict[str, str] | None:
        seen.append("poll")
        return {"phase": "Running"} if len(seen) >= 2 else None

    assert await eventually(pod, timeout=1) == {"phase": "Running"}
    assert seen == ["poll", "poll"]


async def test_eventually_without_what_names_the_check() -> None:
    def no_endpoints() -> list[str]:
        return []

    with pytest.raises(AssertionError) as err:
        await eventually(no_endpoints, timeout=0.05)
    assert "waiting for test_eventually_without_what_names_the_check.<locals>.no_endpoints" \
        in str(err.value)
    assert str(err.value).endswith("last saw []")
