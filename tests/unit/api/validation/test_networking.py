"""Ingress and IngressClass: validation with Kubernetes' words, defaults, create strategy."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.defaults import apply_defaults
from kubelite.api.registry import by_kind
from kubelite.api.strategy import strategy_for
from kubelite.api.types import networking_v1
from kubelite.api.validation import networking
from kubelite.api.validation.errors import FieldError


def msgs(errors: list[FieldError]) -> list[str]:
    return [e.message() for e in errors]


def ingress(spec: dict[str, Any], **meta: Any) -> networking_v1.Ingress:
    return msgspec.convert({"metadata": {"name": "web", "namespace": "default", **meta}, "spec": spec},
                           networking_v1.Ingress)


def path(p: str | None = "/", path_type: str = "Prefix", **backend: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"pathType": path_type,
                           "backend": backend or {"service": {"name": "web", "port": {"number": 80}}}}
    if p is not None:
        out["path"] = p
    return out


def rule(*paths: dict[str, Any], host: str = "foo.example.com") -> dict[str, Any]:
    return {"host": host, "http": {"paths": list(paths)}}


def test_a_plain_ingress_is_valid() -> None:
    assert networking.validate_ingress(ingress({"rules": [rule(path())]})) == []
    assert networking.validate_ingress(ingress({"rules": [rule(path(), host="*.example.com")]})) == []


def test_rules_or_default_backend_are_required() -> None:
    assert msgs(networking.validate_ingress(ingress({}))) == [
        "spec: Invalid value: []: either `defaultBackend` or `rules` must be specified"]


def test_host_must_be_a_dns_name() -> None:
    errs = msgs(networking.validate_ingress(ingress({"rules": [rule(path(), host="10.0.0.1")]})))
    assert errs[0] == 'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address'
    errs = msgs(networking.validate_ingress(ingress({"rules": [rule(path(), host="foo.*.com")]})))
    assert errs[0].startswith('spec.rules[0].host: Invalid value: "foo.*.com": a wildcard DNS-1123 subdomain')


def test_path_rules_by_type() -> None:
    bad = ingress({"rules": [rule(path("api"), path("/a//b"), path("/a/.."),
                                  path("x", "ImplementationSpecific"), path("", "ImplementationSpecific"),
                                  path("/", "Regex"))]})
    assert msgs(networking.validate_ingress(bad)) == [
        'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path',
        "spec.rules[0].http.paths[1].path: Invalid value: \"/a//b\": must not contain '//'",
        "spec.rules[0].http.paths[2].path: Invalid value: \"/a/..\": cannot end with '/..'",
        'spec.rules[0].http.paths[3].path: Invalid value: "x": must be an absolute path',
        'spec.rules[0].http.paths[5].pathType: Unsupported value: "Regex": supported values: '
        '"Exact", "ImplementationSpecific", "Prefix"',
    ]


def test_pathtype_has_no_default() -> None:
    try:
        msgspec.convert({"path": "/", "backend": {}}, networking_v1.HTTPIngressPath)
    except msgspec.ValidationError as e:
        assert "pathType" in str(e)
    else:
        raise AssertionError("a path without pathType decoded")


def test_backends() -> None:
    both = path(service={"name": "web", "port": {"number": 80}},
                resource={"kind": "Bucket", "name": "b", "apiGroup": "example.com"})
    no_port = path(service={"name": "web"})
    two_ports = path(service={"name": "web", "port": {"number": 80, "name": "http"}})
    bad_port = path(service={"name": "Web", "port": {"number": 70000}})
    errs = msgs(networking.validate_ingress(ingress({"rules": [rule(both, no_port, two_ports, bad_port)]})))
    assert errs[0] == 'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both resource and service backends'
    assert errs[1] == "spec.rules[0].http.paths[1].backend: Required value: port name or number is required"
    assert errs[2] == 'spec.rules[0].http.paths[2].backend: Invalid value: "": cannot set both port name & port number'
    assert errs[3].startswith('spec.rules[0].http.paths[3].backend.service.name: Invalid value: "Web"')
    assert errs[4] == ("spec.rules[0].http.paths[3].backend.service.port.number: Invalid value: 70000: "
                       "must be between 1 and 65535, inclusive")
    resource_only = ingress({"defaultBackend": {"resource": {"kind": "Bucket", "name": "b"}}})
    assert networking.validate_ingress(resource_only) == []


def test_class_field_and_annotation_exclude_each_other() -> None:
    ing = ingress({"ingressClassName": "nginx", "rules": [rule(path())]},
                  annotations={"kubernetes.io/ingress.class": "nginx"})
    assert msgs(networking.validate_ingress(ing)) == [
        'annotations.kubernetes.io/ingress.class: Invalid value: "nginx": '
        "can not be set when the class field is also set"]


def ingress_class(spec: dict[str, Any]) -> networking_v1.IngressClass:
    ic = msgspec.convert({"metadata": {"name": "nginx"}, "spec": spec}, networking_v1.IngressClass)
    apply_defaults(ic)
    return ic


def test_ingress_class_controller_and_parameters() -> None:
    ok = ingress_class({"controller": "k8s.io/ingress-nginx",
                        "parameters": {"kind": "IngressParameters", "name": "p", "apiGroup": "k8s.example.com"}})
    assert ok.spec is not None and ok.spec.parameters is not None
    assert ok.spec.parameters.scope == "Cluster"  # SetDefaults_IngressClass
    assert networking.validate_ingress_class(ok) == []
    bad = ingress_class({"controller": "nginx",
                         "parameters": {"kind": "P", "name": "p", "scope": "Namespace"}})
    assert msgs(networking.validate_ingress_class(bad)) == [
        'spec.controller: Invalid value: "nginx": must be a domain-prefixed path (such as "acme.io/foo")',
        "spec.parameters.namespace: Required value: `parameters.scope` is set to 'Namespace'"]
    changed = ingress_class({"controller": "example.com/other"})
    assert msgs(networking.validate_ingress_class_update(changed, ok)) == [
        'spec.controller: Invalid value: "example.com/other": field is immutable']


def test_a_new_ingress_has_an_empty_load_balancer_status() -> None:
    kind = by_kind("networking.k8s.io", "v1", "Ingress")
    assert kind is not None and kind.namespaced and kind.short_names == ("ing",)
    ing = ingress({"rules": [rule(path())]})
    strategy_for(kind).prepare_for_create(ing)
    assert msgspec.to_builtins(ing)["status"] == {"loadBalancer": {}}
    assert ing.metadata is not None and ing.metadata.generation == 1
    ic_kind = by_kind("networking.k8s.io", "v1", "IngressClass")
    assert ic_kind is not None and not ic_kind.namespaced
