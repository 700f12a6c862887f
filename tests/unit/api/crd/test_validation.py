"""A CRD's own validation refuses what apiextensions' ValidateCustomResourceDefinition refuses,
in its words."""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from kubelite.api.crd.validation import validate_crd, validate_crd_update
from kubelite.api.types import apiextensions_v1 as ext

GOOD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object"}}}],
    },
}


def crd(**changes: Any) -> ext.CustomResourceDefinition:
    data = copy.deepcopy(GOOD)
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for p in parents:
            node = node[p]
        node[last] = value
    return msgspec.convert(data, ext.CustomResourceDefinition)


def messages(obj: ext.CustomResourceDefinition) -> list[str]:
    return [e.message() for e in validate_crd(obj)]


def test_a_good_crd_passes() -> None:
    assert messages(crd()) == []


def test_name_must_be_plural_dot_group() -> None:
    assert messages(crd(metadata__name="gadgets.example.com")) == [
        'metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group']


def test_group_needs_a_dot() -> None:
    got = messages(crd(metadata__name="widgets.example", spec__group="example"))
    assert 'spec.group: Invalid value: "example": should be a domain with at least one dot' in got


def test_scope_is_cluster_or_namespaced() -> None:
    assert messages(crd(spec__scope="Global")) == [
        'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']


def test_exactly_one_storage_version() -> None:
    two = [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}},
           {"name": "v2", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}]
    got = messages(crd(spec__versions=two))
    assert any(m.endswith("must have exactly one version marked as storage version") for m in got)


def test_version_names_unique_and_dns1035() -> None:
    same = [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}},
            {"name": "V_2", "served": True, "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}}]
    got = messages(crd(spec__versions=same))
    assert any(m.startswith('spec.versions[1].name: Invalid value: "V_2": a DNS-1035 label') for m in got)


def test_schema_is_required_in_v1() -> None:
    got = messages(crd(spec__versions=[{"name": "v1", "served": True, "storage": True}]))
    assert got == ["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"]


def test_kind_and_list_kind_differ() -> None:
    got = messages(crd(spec__names={"plural": "widgets", "singular": "widget", "kind": "Widget",
                                    "listKind": "Widget"}))
    assert got == ['spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same']


def test_printer_columns_and_scale_paths() -> None:
    version = copy.deepcopy(GOOD["spec"]["versions"][0])
    version["additionalPrinterColumns"] = [{"name": "X", "type": "colour", "jsonPath": ".spec.x"}]
    version["subresources"] = {"scale": {"specReplicasPath": ".status.replicas",
                                         "statusReplicasPath": ".status.replicas"}}
    got = messages(crd(spec__versions=[version]))
    assert 'spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: "colour": supported values: ' \
           '"boolean", "date", "integer", "number", "string"' in got
    assert 'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": ' \
           'should be a json path under .spec' in got


def test_scope_is_immutable_once_established() -> None:
    old = crd(status={"conditions": [{"type": "Established", "status": "True"}], "storedVersions": ["v1"]})
    old.metadata.resource_version = "1"
    new = crd(spec__scope="Cluster", status={"storedVersions": ["v1"]})
    new.metadata.resource_version = "1"
    got = [e.message() for e in validate_crd_update(new, old)]
    assert 'spec.scope: Invalid value: "Cluster": field is immutable' in got


def test_webhook_conversion_needs_its_client_config() -> None:
    assert messages(crd(spec__conversion={"strategy": "Webhook"})) == [
        "spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook"]
    assert messages(crd(spec__conversion={"strategy": "None", "webhook": {
        "clientConfig": {"url": "https://x"}, "conversionReviewVersions": ["v1"]}})) == [
        "spec.conversion.webhookClientConfig: Forbidden: should not be set when strategy is not set to Webhook"]


def test_kubernetes_groups_need_the_api_approval_annotation() -> None:
    mine = crd(metadata__name="widgets.x.k8s.io", spec__group="x.k8s.io")
    assert messages(mine) == [
        'metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have '
        'approval annotation "api-approved.kubernetes.io", see https://github.com/kubernetes/enhancements/pull/1111']
    approved = crd(metadata__name="widgets.x.k8s.io", spec__group="x.k8s.io",
                   metadata__annotations={"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/1"})
    assert messages(approved) == []
