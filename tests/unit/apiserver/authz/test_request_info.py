"""Request URLs become authorizer attributes as k8s.io/apiserver's RequestInfoFactory makes them."""

from __future__ import annotations

import pytest

from kubelite.apiserver.authz.request_info import request_info


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", "/api/v1/namespaces/default/pods", {}, ("list", "", "default", "pods", "", "")),
    ("GET", "/api/v1/pods", {"watch": "true"}, ("watch", "", "", "pods", "", "")),
    ("GET", "/api/v1/namespaces/ns/pods/web/log", {}, ("get", "", "ns", "pods", "log", "web")),
    ("POST", "/api/v1/namespaces/ns/pods/web/exec", {}, ("create", "", "ns", "pods", "exec", "web")),
    ("DELETE", "/apis/apps/v1/namespaces/ns/deployments", {}, ("deletecollection", "apps", "ns", "deployments", "", "")),
    ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", {}, ("patch", "apps", "ns", "deployments", "scale", "d")),
    ("GET", "/api/v1/namespaces/kube-system", {}, ("get", "", "kube-system", "namespaces", "", "kube-system")),
    ("PUT", "/api/v1/namespaces/x/finalize", {}, ("update", "", "x", "namespaces", "finalize", "x")),
    ("GET", "/api/v1/nodes", {"fieldSelector": "metadata.name=n1"}, ("list", "", "", "nodes", "", "n1")),
    ("GET", "/api/v1/watch/namespaces/ns/pods/p", {}, ("watch", "", "ns", "pods", "", "p")),
])
def test_resource_requests(method: str, path: str, query: dict[str, str],
                           expected: tuple[str, str, str, str, str, str]) -> None:
    info = request_info(method, path, query)
    assert info.resource_request
    assert (info.verb, info.api_group, info.namespace, info.resource, info.subresource, info.name) == expected


@pytest.mark.parametrize(("method", "path", "verb"), [
    ("GET", "/healthz", "get"), ("GET", "/api", "get"), ("GET", "/api/v1", "get"),
    ("GET", "/apis/apps/v1", "get"), ("GET", "/openapi/v2", "get"), ("POST", "/logs", "post"),
])
def test_non_resource_requests(method: str, path: str, verb: str) -> None:
    info = request_info(method, path, {})
    assert not info.resource_request
    assert (info.verb, info.path) == (verb, path)
