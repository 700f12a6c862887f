"""What an Established CRD serves: one registry kind per served version, preferred first, and
the registry swapping its custom kinds in one step."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from kubelite.api import registry
from kubelite.api.crd.kinds import kinds_of, object_type, sorted_versions
from kubelite.api.crd.versions import compare_versions

SCHEMA = {"type": "object", "properties": {"spec": {"type": "object"}, "data": {"type": "string"},
                                           "class": {"type": "string"}}}
CRD: dict[str, Any] = {
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com", "scope": "Cluster",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {"name": "v1beta1", "served": True, "storage": False, "schema": {"openAPIV3Schema": SCHEMA}},
            {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": SCHEMA},
             "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                      "statusReplicasPath": ".status.replicas"}},
             "selectableFields": [{"jsonPath": ".spec.colour"}]},
            {"name": "v1alpha1", "served": False, "storage": False},
        ],
    },
    "status": {"conditions": [{"type": "Established", "status": "True"}],
               "acceptedNames": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                                 "shortNames": ["wd"], "categories": ["all"]}},
}


@pytest.fixture(autouse=True)
def no_custom_kinds() -> Iterator[None]:
    yield
    registry.set_custom_kinds([])


def test_not_served_before_established() -> None:
    pending = copy.deepcopy(CRD)
    pending["status"]["conditions"] = []
    assert kinds_of(pending) == []


def test_served_versions_preferred_first_with_accepted_names() -> None:
    kinds = kinds_of(CRD)
    assert [k.version for k in kinds] == ["v1", "v1beta1"]
    v1 = kinds[0]
    assert (v1.group, v1.kind, v1.plural, v1.namespaced) == ("example.com", "Widget", "widgets", False)
    assert v1.short_names == ("wd",) and v1.categories == ("all",)
    assert [s.name for s in v1.subresources] == ["status", "scale"]
    assert v1.field_selectors == ("spec.colour",)
    assert v1.custom.storage_api_version == "example.com/v1"
    assert kinds[1].subresources == ()
    # every version is stored as v1: one storage hash for both
    assert kinds[0].storage_version_hash == kinds[1].storage_version_hash


def test_registry_serves_and_forgets_custom_kinds() -> None:
    before = registry.served_generation()
    registry.set_custom_kinds(kinds_of(CRD))
    assert registry.by_resource("example.com", "v1", "widgets") is not None
    assert registry.by_kind("example.com", "v1beta1", "Widget") is not None
    assert ("example.com", "v1") in registry.group_versions()
    assert registry.served_generation() > before
    registry.set_custom_kinds([])
    assert registry.by_resource("example.com", "v1", "widgets") is None


def test_a_custom_kind_never_shadows_a_built_in_one() -> None:
    fake = copy.deepcopy(CRD)
    fake["spec"]["group"] = "apps"
    fake["status"]["acceptedNames"]["plural"] = "deployments"
    registry.set_custom_kinds(kinds_of(fake))
    found = registry.by_resource("apps", "v1", "deployments")
    assert found is not None and found.custom is None


def test_object_type_keeps_top_level_fields_as_json() -> None:
    t = object_type(SCHEMA)
    obj = msgspec.convert({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a"},
                           "spec": {"x": [1]}, "data": "d", "class": "c", "extra": 1}, t)
    out = msgspec.to_builtins(obj)
    assert out == {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a"},
                   "spec": {"x": [1]}, "data": "d", "class": "c"}
    assert list(out)[:3] == ["apiVersion", "kind", "metadata"]  # resourceVersion is spliced after


def test_version_priority() -> None:
    names = ["v1alpha1", "foo", "v2", "v1beta2", "v1", "v10beta1", "bar"]
    ordered = [v["name"] for v in sorted_versions([{"name": n} for n in names])]
    assert ordered == ["v2", "v1", "v10beta1", "v1beta2", "v1alpha1", "bar", "foo"]
    assert compare_versions("v1", "v1") == 0


def test_a_schema_that_is_not_structural_serves_as_an_opaque_object() -> None:
    from kubelite.api.crd.openapi import object_schema

    broken = copy.deepcopy(CRD)
    for version in broken["spec"]["versions"]:
        version["schema"] = {"openAPIV3Schema": {"type": "object", "properties": [{"a": 1}]}}
    kind = kinds_of(broken, with_schema=False)[0]
    schema = object_schema(kind)
    assert schema["x-kubernetes-preserve-unknown-fields"] is True
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata"}


def test_objects_leave_in_the_version_asked_whatever_version_stored_them() -> None:
    from kubelite.apiserver.objects import served_version

    v1, v1beta1 = kinds_of(CRD)
    to_v1 = served_version(v1)
    to_beta = served_version(v1beta1)
    assert to_v1 is not None and to_beta is not None
    stored_old = b'{"apiVersion":"example.com/v1beta1","kind":"Widget","metadata":{}}'
    stored_new = b'{"apiVersion":"example.com/v1","kind":"Widget","metadata":{}}'
    assert to_v1(stored_old) == stored_new
    assert to_v1(stored_new) == stored_new
    assert to_beta(stored_new) == stored_old
    single = copy.deepcopy(CRD)
    single["spec"]["versions"] = [single["spec"]["versions"][1]]
    assert served_version(kinds_of(single)[0]) is None  # one version, never stored in another


def test_deprecated_versions_name_the_one_to_use() -> None:
    from kubelite.api.crd.kinds import deprecation_warning

    versions = [{"name": "v1alpha1", "served": True, "deprecated": True},
                {"name": "v1beta1", "served": True},
                {"name": "v1", "served": True},
                {"name": "v2", "served": False}]
    assert deprecation_warning("example.com", "Widget", versions[0], versions) == \
        "example.com/v1alpha1 Widget is deprecated; use example.com/v1 Widget"
    own = {"name": "v1beta1", "served": True, "deprecated": True, "deprecationWarning": "go away"}
    assert deprecation_warning("example.com", "Widget", own, versions) == "go away"
    assert deprecation_warning("example.com", "Widget", versions[1], versions) is None
