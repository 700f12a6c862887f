"""What one request carries beside its body: who sent it, what request guards learned of it, and
the warnings and audit annotations the steps that serve it add on the way (k8s.io/apiserver's
request context, warning recorder and audit annotations).

Admission plugins see only the object, so they reach these through a context variable set by the
server's middleware around each request; outside a request (a controller in the same process,
a unit test) adding a warning does nothing.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kubelite.apiserver.auth import User
from kubelite.apiserver.warning_headers import warning_headers


@dataclass
class RequestContext:
    user: User | None = None
    # What request guards learned of the request (e.g. its parsed resource path)
    facts: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    audit_annotations: dict[str, str] = field(default_factory=dict)


_current: ContextVar[RequestContext | None] = ContextVar("kubelite_request", default=None)


def begin(user: User | None = None) -> Token[RequestContext | None]:
    """A new context for the request being served (closed with `end`, so a keep-alive
    connection's next request never sees this one's user)."""
    return _current.set(RequestContext(user))


def end(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def set_user(user: User) -> None:
    """Who sent the request, once authentication has said."""
    ctx = _current.get()
    if ctx is not None:
        ctx.user = user


def current() -> RequestContext | None:
    return _current.get()


def user_name() -> str:
    ctx = _current.get()
    return ctx.user.name if ctx and ctx.user else ""


def add_warning(text: str) -> None:
    ctx = _current.get()
    if ctx is not None and text not in ctx.warnings:
        ctx.warnings.append(text)


def add_audit_annotation(key: str, value: str) -> None:
    """An annotation for this request's audit event (the audit log reads them from here)."""
    ctx = _current.get()
    if ctx is not None:
        ctx.audit_annotations.setdefault(key, value)


def write_warnings(response: web.StreamResponse) -> None:
    """Add the recorded warnings to a response not yet sent, after those it already carries."""
    ctx = _current.get()
    if ctx is None or not ctx.warnings or response.prepared:
        return
    present = set(response.headers.getall("Warning", ()))
    for header in warning_headers(ctx.warnings):
        if header not in present:
            response.headers.add("Warning", header)
