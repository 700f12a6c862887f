"""Poll until a condition holds: the one "wait for it" helper every test uses.

    until(lambda: path.exists(), 10, "the file written")              # sync, e.g. around kubectl
    pod = await eventually(lambda: client.get_obj("pods", "p", "ns"), what="the pod")
    await eventually(all_running, timeout=20)                         # async checks are awaited

Both call `check()` until it returns something truthy and return that value, so a test can
wait for an object and use it in one line. On timeout they raise AssertionError naming `what`
(or the check's name) and the last value seen, so a failure says what never happened.

The check runs once more at the deadline, so a slow last poll never costs the test a chance.
Tests that assert how fast something happened measure it themselves (`time.monotonic()`
around the call): the helpers only wait.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


def until(check: Callable[[], T], timeout: float = 20.0, what: str = "",
          interval: float = 0.2) -> T:
    """Block until `check()` is truthy and return it; AssertionError after `timeout` seconds.

    For tests whose cluster runs in another process: each check usually runs kubectl or reads
    /proc, so it polls every `interval` (0.2 s) rather than as fast as it can.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(_timed_out(check, timeout, what, value))
        time.sleep(min(interval, left))


@overload
async def eventually(check: Callable[[], Awaitable[T]], timeout: float = ..., what: str = ...,
                     interval: float = ...) -> T: ...
@overload
async def eventually(check: Callable[[], T], timeout: float = ..., what: str = ...,
                     interval: float = ...) -> T: ...
async def eventually(check: Callable[[], Any], timeout: float = 5.0, what: str = "",
                     interval: float = 0.01) -> Any:
    """Await until `check()` is truthy and return it; AssertionError after `timeout` seconds.

    `check` may be a plain function (reading an in-process cache, say) or return an awaitable
    (an HTTP call), which is awaited each time.
    """
    deadline = time.monotonic() + timeout
    while True:
        value: Any = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(_timed_out(check, timeout, what, value))
        await asyncio.sleep(min(interval, left))


def _timed_out(check: Callable[..., object], timeout: float, what: str, last: object) -> str:
    """The failure message: what was awaited, for how long, and what the check said last."""
    name = what or getattr(check, "__qualname__", None) or repr(check)
    return f"timed out after {timeout:g}s waiting for {name}: last saw {last!r}"
