"""Kubernetes `Status` errors: one exception hierarchy, each mapping to a reason and code.

Handlers raise these; the API server turns them into the `Status` body kubectl prints as
`Error from server (Reason): message`.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as a Kubernetes Status."""

    code = 500
    reason = "InternalError"
    # Whether Kubernetes' constructor of this error always sets details (NewNotFound,
    # NewGenericServerResponse...): an empty one is then `"details":{}`, never left out.
    always_details = False

    def __init__(
        self,
        message: str,
        *,
        name: str = "",
        group: str = "",
        kind: str = "",
        causes: list[dict[str, str]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = {}
        if name:
            self.details["name"] = name
        if group:
            self.details["group"] = group
        if kind:
            self.details["kind"] = kind
        if causes:
            self.details["causes"] = causes
        if retry_after is not None:
            self.details["retryAfterSeconds"] = retry_after

    def status(self) -> dict[str, Any]:
        """The Status body, its keys in metav1.Status's order (details before code)."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details or self.always_details:
            body["details"] = self.details
        body["code"] = self.code
        return body


class BadRequest(ApiError):
    """The request is malformed (400)."""

    code, reason = 400, "BadRequest"


class Unauthorized(ApiError):
    """No valid credentials (401)."""

    code, reason = 401, "Unauthorized"


class Forbidden(ApiError):
    """Credentials are valid but the action is refused (403)."""

    code, reason = 403, "Forbidden"
    always_details = True


class NotFound(ApiError):
    """The object or path does not exist (404)."""

    code, reason = 404, "NotFound"
    always_details = True


class MethodNotAllowed(ApiError):
    """The verb is not supported on this resource (405)."""

    code, reason = 405, "MethodNotAllowed"
    always_details = True


class NotAcceptable(ApiError):
    """No acceptable response content type (406)."""

    code, reason = 406, "NotAcceptable"


class AlreadyExists(ApiError):
    """create() of an existing object (409)."""

    code, reason = 409, "AlreadyExists"
    always_details = True


class Conflict(ApiError):
    """Optimistic concurrency failure or a conflicting change (409)."""

    code, reason = 409, "Conflict"
    always_details = True


class Gone(ApiError):
    """The resource version asked for is too old (410, reason Expired)."""

    code, reason = 410, "Expired"


class RequestEntityTooLarge(ApiError):
    """Body over the limit (413)."""

    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(ApiError):
    """Content-Type the endpoint cannot decode (415)."""

    code, reason = 415, "UnsupportedMediaType"


class Invalid(ApiError):
    """The object failed validation (422), with one cause per field."""

    code, reason = 422, "Invalid"
    always_details = True


class TooManyRequests(ApiError):
    """Refused for now; retry later (429)."""

    code, reason = 429, "TooManyRequests"
    always_details = True


class InternalError(ApiError):
    """A server fault (500)."""

    code, reason = 500, "InternalError"
    always_details = True


class ServerTimeout(ApiError):
    """The store could not complete the operation in time; retry (500, reason ServerTimeout)."""

    code, reason = 500, "ServerTimeout"
    always_details = True


class ServiceUnavailable(ApiError):
    """The store or a backend is unreachable (503)."""

    code, reason = 503, "ServiceUnavailable"


class Timeout(ApiError):
    """The server gave up waiting (504)."""

    code, reason = 504, "Timeout"
    always_details = True


def success_status(name: str = "", group: str = "", kind: str = "", uid: str = "") -> dict[str, Any]:
    """The Status returned by a delete that removed the object at once (non-pod kinds)."""
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    if uid:
        details["uid"] = uid
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def not_found(resource: str, name: str, group: str = "") -> NotFound:
    qualified = f"{resource}.{group}" if group else resource
    return NotFound(f'{qualified} "{name}" not found', name=name, group=group, kind=resource)


def already_exists(resource: str, name: str, group: str = "") -> AlreadyExists:
    qualified = f"{resource}.{group}" if group else resource
    return AlreadyExists(f'{qualified} "{name}" already exists', name=name, group=group, kind=resource)


def conflict(resource: str, name: str, reason: str, group: str = "") -> Conflict:
    qualified = f"{resource}.{group}" if group else resource
    return Conflict(
        f'Operation cannot be fulfilled on {qualified} "{name}": {reason}',
        name=name,
        group=group,
        kind=resource,
    )


def server_timeout(resource: str, operation: str, group: str = "", retry_after: int = 2) -> ServerTimeout:
    """Kubernetes' NewServerTimeout: details.name carries the operation, not an object name."""
    qualified = f"{resource}.{group}" if group else resource
    return ServerTimeout(
        f"The {operation} operation against {qualified} could not be completed at this time, "
        "please try again.",
        name=operation, group=group, kind=resource, retry_after=retry_after,
    )


RESOURCE_VERSION_TOO_LARGE = "ResourceVersionTooLarge"
TOO_LARGE_RESOURCE_VERSION = "Too large resource version"


def too_large_resource_version(wanted: int, current: int, retry_after: int = 0) -> Timeout:
    """A read asked for a resourceVersion the server has not reached (storage.NewTooLargeResourceVersionError)."""
    return Timeout(
        f"Timeout: {TOO_LARGE_RESOURCE_VERSION}: {wanted}, current: {current}",
        causes=[{"reason": RESOURCE_VERSION_TOO_LARGE, "message": TOO_LARGE_RESOURCE_VERSION}],
        retry_after=retry_after or None,
    )


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"
