"""One exception hierarchy for every failed API call.

The API server answers errors with a Kubernetes `Status` object; `error_from_status` maps it
to the most specific class here, so callers write `except NotFound:` rather than compare codes.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """The API server refused a request; `.status` is the Status object it sent."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
        self.code: int = int(status.get("code") or 0)
        self.reason: str = str(status.get("reason") or "")
        self.message: str = str(status.get("message") or "")
        super().__init__(f"({self.reason or self.code}) {self.message}")


class BadRequest(ApiError):
    """400: the request was malformed (bad selector, undecodable body...)."""


class Unauthorized(ApiError):
    """401: no or bad credentials."""


class Forbidden(ApiError):
    """403: authenticated but not allowed."""


class NotFound(ApiError):
    """404: the object (or resource type) does not exist."""


class Conflict(ApiError):
    """409: the write used a stale resourceVersion."""


class AlreadyExists(Conflict):
    """409 with reason AlreadyExists: an object of that name is already there."""


class Gone(ApiError):
    """410: the requested resourceVersion was compacted; re-list."""


class Invalid(ApiError):
    """422: the object failed validation; causes are in `.status["details"]`."""


class TooManyRequests(ApiError):
    """429: the server asks us to slow down."""


class ServerError(ApiError):
    """5xx: the server failed."""


_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


def error_from_status(http_code: int, body: Any) -> ApiError:
    """The most specific ApiError for an HTTP error code and its (maybe Status) body."""
    if isinstance(body, dict) and body.get("kind") == "Status":
        status = dict(body)
    else:
        text = body if isinstance(body, str) else repr(body)
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": text, "code": http_code}
    status.setdefault("code", http_code)
    code = int(status.get("code") or http_code)
    if code == 409 and status.get("reason") == "AlreadyExists":
        return AlreadyExists(status)
    cls = _BY_CODE.get(code)
    if cls is None:
        cls = ServerError if code >= 500 else ApiError
    return cls(status)
