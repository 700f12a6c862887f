"""Store failures as the Status a Kubernetes API server answers.

The generic REST store retries what a race makes retryable; what is left reaches the client
as Kubernetes' `storage/errors.go` Interpret*Error functions word it: a key that went away is
404 NotFound, a key that appeared is 409 AlreadyExists, a lost optimistic write is 409
Conflict, an unreachable store is ServerTimeout. `translate` is the one place that knows this
mapping; `from_key` serves the server's safety net, for a store error no handler caught.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from kubelite.api import status as st
from kubelite.api.registry import Kind
from kubelite.apiserver import objects
from kubelite.store.interface import (
    CompactedError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionConflictError,
    StoreError,
    UnavailableError,
)

Operation = Literal["get", "list", "create", "update", "delete"]

def translate(err: StoreError, resource: str, name: str, group: str, operation: Operation) -> st.ApiError:
    """The Status for `err`, raised by the store during `operation` on resource/name."""
    if isinstance(err, KeyNotFoundError):
        return st.not_found(resource, name, group)
    if isinstance(err, KeyExistsError):
        if operation == "create":
            return st.already_exists(resource, name, group)
        return st.conflict(resource, name, "StorageError: key exists", group)
    if isinstance(err, RevisionConflictError):
        return st.conflict(resource, name, st.STALE_OBJECT, group)
    if isinstance(err, CompactedError):
        return st.Gone(f"too old resource version: {err.requested} ({err.compacted})")
    if isinstance(err, FutureRevisionError):
        return st.too_large_resource_version(err.requested, err.current)
    if isinstance(err, UnavailableError):
        return st.server_timeout(resource, operation, group)
    return st.InternalError(f"Internal error occurred: {err}")


@contextmanager
def translated(kind: Kind, name: str, operation: Operation) -> Iterator[None]:
    """Raise the Status of any store error in the block, for `kind`/`name`."""
    try:
        yield
    except StoreError as e:
        raise translate(e, kind.plural, name, kind.group, operation) from None


_OPERATION_OF_METHOD: dict[str, Operation] = {
    "GET": "get", "POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete",
}


def from_key(err: StoreError, method: str) -> st.ApiError:
    """The Status for a store error that escaped its handler, named from the key it carries."""
    operation = _OPERATION_OF_METHOD.get(method, "get")
    key = str(err.args[0]) if err.args and isinstance(err.args[0], str) else ""
    if isinstance(err, RevisionConflictError):
        key = str(err).removeprefix("revision conflict on ")
    resource = name = group = ""
    if key.startswith(objects.REGISTRY_PREFIX) and key.count("/") >= 4:
        segment, resource, _, name = objects.parse_key(key)
        group = "" if segment == "core" else segment
    return translate(err, resource, name, group, operation)
