"""Object metadata and label selectors."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from kubelite.api.types.meta_v1 import LabelSelector, ObjectMeta
from kubelite.api.validation import names
from kubelite.api.validation.meta import validate_label_selector, validate_object_meta


def meta_messages(namespaced: bool = True, **fields: Any) -> list[str]:
    meta = msgspec.convert(fields, ObjectMeta)
    return [e.message() for e in validate_object_meta(meta, namespaced, names.name_is_dns_label)]


def test_name_required() -> None:
    assert meta_messages(namespace="default") == [
        "metadata.name: Required value: name or generateName is required"]


def test_namespace_required_or_forbidden() -> None:
    assert meta_messages(name="a") == ["metadata.namespace: Required value"]
    assert meta_messages(False, name="a", namespace="x") == [
        "metadata.namespace: Forbidden: not allowed on this type"]


def test_generate_name_checked_as_prefix() -> None:
    assert meta_messages(name="web-abcde", generateName="web-", namespace="d") == []
    assert meta_messages(name="web-abcde", generateName="Web-", namespace="d")[0].startswith(
        'metadata.generateName: Invalid value: "Web-": a lowercase RFC 1123 label')


def test_finalizer_names() -> None:
    assert meta_messages(name="a", namespace="d", finalizers=["kubernetes", "example.com/x"]) == []
    assert meta_messages(name="a", namespace="d", finalizers=["custom"]) == [
        'metadata.finalizers: Invalid value: "custom": name is neither a standard finalizer '
        "name nor is it fully qualified"]


def selector_messages(sel: dict[str, Any]) -> list[str]:
    return [e.message() for e in
            validate_label_selector(msgspec.convert(sel, LabelSelector), "spec.selector")]


@pytest.mark.parametrize(("req", "expected"), [
    ({"key": "a", "operator": "In", "values": ["x"]}, []),
    ({"key": "a", "operator": "Exists"}, []),
    ({"key": "a", "operator": "In"},
     ["spec.selector.matchExpressions[0].values: Required value: must be specified when "
      "`operator` is 'In' or 'NotIn'"]),
    ({"key": "a", "operator": "DoesNotExist", "values": ["x"]},
     ["spec.selector.matchExpressions[0].values: Forbidden: may not be specified when "
      "`operator` is 'Exists' or 'DoesNotExist'"]),
    ({"key": "a", "operator": "Like", "values": ["x"]},
     ['spec.selector.matchExpressions[0].operator: Invalid value: "Like": not a valid selector '
      "operator"]),
])
def test_label_selector_operators(req: dict[str, Any], expected: list[str]) -> None:
    assert selector_messages({"matchExpressions": [req]}) == expected
