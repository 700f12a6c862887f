"""Field error messages and the 422 message, exactly as Kubernetes prints them."""

from __future__ import annotations

import pytest

from kubelite.api.validation.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    invalid_message,
    not_found,
    not_supported,
    required,
    status_causes,
    too_long,
)


@pytest.mark.parametrize(("error", "message"), [
    (duplicate("spec.containers[1].name", "web"), 'spec.containers[1].name: Duplicate value: "web"'),
    (not_found("spec.containers[0].volumeMounts[0].name", "data"),
     'spec.containers[0].volumeMounts[0].name: Not found: "data"'),
    (required("spec.containers"), "spec.containers: Required value"),
    (required("metadata.name", "name or generateName is required"),
     "metadata.name: Required value: name or generateName is required"),
    (invalid("spec.x", -1, "must be greater than or equal to 0"),
     "spec.x: Invalid value: -1: must be greater than or equal to 0"),
    (invalid("spec.hostNetwork", True, "bad"), "spec.hostNetwork: Invalid value: true: bad"),
    (invalid("spec.x", None, "gone"), "spec.x: Invalid value: null: gone"),
    (not_supported("spec.restartPolicy", "Sometimes", ["Always", "OnFailure", "Never"]),
     'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
     '"OnFailure", "Never"'),
    (forbidden("spec", "pod updates may not add or remove containers"),
     "spec: Forbidden: pod updates may not add or remove containers"),
    (too_long("[]", "", 1048576), "[]: Too long: may not be more than 1048576 bytes"),
    (invalid("spec.template.metadata.labels", {"b": "2", "a": "1"}, "x"),
     'spec.template.metadata.labels: Invalid value: map[string]string{"a":"1", "b":"2"}: x'),
])
def test_message(error: FieldError, message: str) -> None:
    assert error.message() == message


def test_invalid_message_single() -> None:
    errs = [required("spec.containers[0].image")]
    assert invalid_message("Pod", "x", errs) == \
        'Pod "x" is invalid: spec.containers[0].image: Required value'


def test_invalid_message_many_in_brackets_without_duplicates() -> None:
    errs = [required("a"), required("b"), required("a")]
    assert invalid_message("Pod", "x", errs) == \
        'Pod "x" is invalid: [a: Required value, b: Required value]'


def test_invalid_message_qualifies_non_core_kinds() -> None:
    assert invalid_message("Deployment", "web", [required("spec.selector")], group="apps") == \
        'Deployment.apps "web" is invalid: spec.selector: Required value'


def test_status_causes() -> None:
    assert status_causes([duplicate("spec.containers[1].name", "web")]) == [
        {"reason": "FieldValueDuplicate", "message": 'Duplicate value: "web"',
         "field": "spec.containers[1].name"}]
