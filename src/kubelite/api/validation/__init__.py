"""Validation of API objects, with Kubernetes' own field paths and messages.

Every validator takes typed objects (msgspec Structs from `api/types`) and returns a list of
`FieldError`; an empty list means valid. `invalid_message` and `status_causes` turn the list
into what the API server puts in its 422 Status. Per-kind entry points are collected by
`api/strategy`; the modules here are grouped by what they check.
"""

from kubelite.api.validation.errors import (
    ErrorType,
    FieldError,
    aggregate,
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
from kubelite.api.validation.meta import (
    validate_label_selector,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from kubelite.api.validation.pod import (
    validate_pod,
    validate_pod_spec,
    validate_pod_status_update,
    validate_pod_update,
)

__all__ = [
    "ErrorType",
    "FieldError",
    "aggregate",
    "duplicate",
    "forbidden",
    "invalid",
    "invalid_message",
    "not_found",
    "not_supported",
    "required",
    "status_causes",
    "too_long",
    "validate_label_selector",
    "validate_labels",
    "validate_object_meta",
    "validate_object_meta_update",
    "validate_pod",
    "validate_pod_spec",
    "validate_pod_status_update",
    "validate_pod_update",
]
