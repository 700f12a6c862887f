"""Who is asking, for code that runs inside a request but is not handed the request
(admission plugins), as k8s.io/apiserver's request context carries the user.

The API server's middleware opens a scope per request (`opened`) and closes it when the
request ends, so a keep-alive connection's next request never sees the previous user.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from kubelite.apiserver.auth import User


@dataclass
class Scope:
    user: User
    # What request guards learned of the request (e.g. its parsed resource path)
    facts: dict[str, Any]


_CURRENT: ContextVar[Scope | None] = ContextVar("kubelite_request_scope", default=None)


@contextlib.contextmanager
def opened(user: User) -> Iterator[Scope]:
    scope = Scope(user, {})
    token = _CURRENT.set(scope)
    try:
        yield scope
    finally:
        _CURRENT.reset(token)


def current() -> Scope | None:
    """The scope of the request being served; None outside one (or without authentication)."""
    return _CURRENT.get()
