"""Store failures reach clients as the Status Kubernetes answers, never as a bare 500."""

from __future__ import annotations

import pytest

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver.storeerrors import from_key, translate, translated
from kubelite.store.interface import (
    CompactedError,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    RevisionConflictError,
    StoreError,
    UnavailableError,
)

DEPLOYMENTS = by_resource("apps", "v1", "deployments")
KEY = "/registry/apps/deployments/default/web"


@pytest.mark.parametrize(
    ("err", "operation", "code", "reason", "message"),
    [
        (KeyNotFoundError(KEY), "delete", 404, "NotFound", 'deployments.apps "web" not found'),
        (KeyExistsError(KEY), "create", 409, "AlreadyExists", 'deployments.apps "web" already exists'),
        (RevisionConflictError(KEY, None), "update", 409, "Conflict",
         'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
         "please apply your changes to the latest version and try again"),
        (UnavailableError("etcd down"), "update", 500, "ServerTimeout",
         "The update operation against deployments.apps could not be completed at this time, please try again."),
        (CompactedError(3, 9), "get", 410, "Expired", "too old resource version: 3 (9)"),
        (FutureRevisionError(90, 9), "get", 504, "Timeout", "Timeout: Too large resource version: 90, current: 9"),
    ],
)
def test_each_store_error_has_its_kubernetes_status(
    err: StoreError, operation: str, code: int, reason: str, message: str
) -> None:
    status = translate(err, "deployments", "web", "apps", operation).status()  # type: ignore[arg-type]
    assert (status["code"], status["reason"], status["message"]) == (code, reason, message)


def test_details_name_the_object_or_the_operation() -> None:
    assert translate(KeyNotFoundError(KEY), "deployments", "web", "apps", "delete").details == {
        "name": "web", "group": "apps", "kind": "deployments"}
    timeout = translate(UnavailableError("x"), "deployments", "web", "apps", "create")
    assert timeout.details == {"name": "create", "group": "apps", "kind": "deployments", "retryAfterSeconds": 2}


def test_translated_raises_the_status_of_a_store_error_in_its_block() -> None:
    assert DEPLOYMENTS is not None
    with pytest.raises(st.NotFound) as caught, translated(DEPLOYMENTS, "web", "delete"):
        raise KeyNotFoundError(KEY)
    assert caught.value.code == 404


def test_an_escaped_store_error_is_named_from_its_key() -> None:
    err = from_key(KeyNotFoundError(KEY), "DELETE")
    assert (err.code, err.message) == (404, 'deployments.apps "web" not found')
    conflict = from_key(RevisionConflictError("/registry/core/configmaps/ns/c", None), "PUT")
    assert conflict.code == 409 and 'configmaps "c"' in conflict.message
    exists = from_key(KeyExistsError("/registry/core/namespaces/n"), "POST")
    assert (exists.code, exists.reason, exists.details["name"]) == (409, "AlreadyExists", "n")
