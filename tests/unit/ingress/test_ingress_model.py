"""The routing table: which Ingresses are ours, precedence of hosts and paths, backends by
port number or name with their endpoints, the default backend and TLS entries."""

from __future__ import annotations

from typing import Any

from kubelite.ingress.model import (
    CONTROLLER,
    DEFAULT_CLASS_ANNOTATION,
    EXACT,
    PREFIX,
    Backend,
    Route,
    Table,
    build,
    host_matches,
    lookup,
    path_matches,
)
from kubelite.proxy.model import Endpoint

Obj = dict[str, Any]
OURS = {"metadata": {"name": "kubelite", "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "spec": {"controller": CONTROLLER}}
OTHER = {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}


def service(name: str, port_name: str = "http", **spec: Any) -> Obj:
    return {"metadata": {"namespace": "default", "name": name},
            "spec": {"clusterIP": "10.43.0.9", "ports": [{"name": port_name, "port": 80, "protocol": "TCP"}], **spec}}


def slice_of(name: str, *ips: str, port_name: str = "http", ready: bool = True) -> Obj:
    return {"metadata": {"namespace": "default", "name": f"{name}-1", "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": [{"name": port_name, "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}} for ip in ips]}


def path(value: str, svc: str, kind: str = PREFIX, port: Obj | None = None) -> Obj:
    return {"path": value, "pathType": kind,
            "backend": {"service": {"name": svc, "port": port or {"number": 80}}}}


def ingress(name: str, rules: list[Obj], created: str = "2024-01-01T00:00:00Z", **spec: Any) -> Obj:
    return {"metadata": {"namespace": "default", "name": name, "creationTimestamp": created},
            "spec": {"rules": rules, **spec}}


SERVICES = [service("one"), service("two"), service("named", port_name="web")]
SLICES = [slice_of("one", "10.42.0.5", "10.42.1.5"), slice_of("two", "10.42.1.6"),
          slice_of("named", "10.42.0.7", port_name="web")]


def table(*ingresses: Obj, classes: list[Obj] | None = None) -> Table:
    return build(list(ingresses), [OURS, OTHER] if classes is None else classes, SERVICES, SLICES)


def target(t: Table, host: str, url: str) -> str | None:
    backend = lookup(t, host, url)
    return backend.service if backend else None


def test_hosts_and_paths_in_kubernetes_precedence() -> None:
    t = table(ingress("web", [
        {"host": "a.example.com", "http": {"paths": [path("/", "one"), path("/two", "two"),
                                                     path("/exact", "two", EXACT)]}},
        {"host": "*.example.com", "http": {"paths": [path("/", "two")]}},
        {"http": {"paths": [path("/any", "one")]}}]))
    assert target(t, "a.example.com", "/") == "one"
    assert target(t, "A.EXAMPLE.COM:8080", "/two/x") == "two"  # case and port ignored
    assert target(t, "a.example.com", "/two") == "two"
    assert target(t, "a.example.com", "/twox") == "one"  # per path element
    assert target(t, "a.example.com", "/exact") == "two"
    assert target(t, "a.example.com", "/exact/more") == "one"
    assert target(t, "b.example.com", "/whatever") == "two"  # the wildcard
    assert target(t, "c.b.example.com", "/any") == "one"  # one label only, then host-less rules
    assert target(t, "example.com", "/") is None


def test_longest_path_first_and_exact_before_prefix() -> None:
    t = table(ingress("web", [{"http": {"paths": [
        path("/a", "one"), path("/a/b/", "two"), path("/a/b", "one", EXACT)]}}]))
    assert [(r.path, r.path_type) for r in t.routes] == [("/a/b", EXACT), ("/a/b", PREFIX), ("/a", PREFIX)]
    assert target(t, "x", "/a/b") == "one" and target(t, "x", "/a/b/c") == "two"
    assert target(t, "x", "/a/c") == "one"


def test_implementation_specific_is_prefix() -> None:
    t = table(ingress("web", [{"http": {"paths": [path("/api", "one", "ImplementationSpecific")]}}]))
    assert t.routes[0].path_type == PREFIX and target(t, "x", "/api/v1") == "one"


def test_backends_by_port_number_or_name_with_ready_endpoints() -> None:
    t = table(ingress("web", [{"http": {"paths": [path("/n", "named", port={"name": "web"}), path("/", "one")]}}]))
    by_service = {r.backend.service: r.backend for r in t.routes}
    assert by_service["named"].endpoints == (Endpoint("10.42.0.7", 8080),)
    assert [e.ip for e in by_service["one"].endpoints] == ["10.42.0.5", "10.42.1.5"]
    missing = table(ingress("web", [{"http": {"paths": [path("/", "gone"), path("/p", "one", port={"number": 81})]}}]))
    assert all(r.backend.endpoints == () for r in missing.routes)  # the proxy answers 503


def test_classes_default_and_deleted_ingresses() -> None:
    mine = ingress("mine", [{"http": {"paths": [path("/", "one")]}}], ingressClassName="kubelite")
    theirs = ingress("theirs", [{"http": {"paths": [path("/t", "two")]}}], ingressClassName="nginx")
    legacy = ingress("legacy", [{"http": {"paths": [path("/l", "two")]}}])
    legacy["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "kubelite"}
    unclassed = ingress("plain", [{"http": {"paths": [path("/p", "two")]}}])
    t = table(mine, theirs, legacy, unclassed)
    assert sorted(r.path for r in t.routes) == ["/", "/l", "/p"]
    not_default = {**OURS, "metadata": {"name": "kubelite"}}
    assert sorted(r.path for r in table(mine, unclassed, classes=[not_default]).routes) == ["/"]
    deleting = ingress("x", [{"http": {"paths": [path("/x", "one")]}}], ingressClassName="kubelite")
    deleting["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:01Z"
    assert table(deleting).routes == ()


def test_default_backend_of_the_oldest_ingress_and_tls_entries() -> None:
    older = ingress("old", [], "2024-01-01T00:00:00Z", defaultBackend={"service": {"name": "one", "port": {"number": 80}}},
                    tls=[{"hosts": ["a.example.com"], "secretName": "a-tls"}, {"hosts": ["b"]}])
    newer = ingress("new", [], "2024-02-01T00:00:00Z", defaultBackend={"service": {"name": "two", "port": {"number": 80}}})
    t = table(newer, older)
    assert t.default is not None and t.default.service == "one"
    assert target(t, "nowhere", "/") == "one"
    assert [(e.secret, e.hosts) for e in t.tls] == [("a-tls", ("a.example.com",))]


def test_matchers() -> None:
    assert host_matches("*.foo.com", "bar.foo.com") and not host_matches("*.foo.com", "foo.com")
    assert not host_matches("*.foo.com", "baz.bar.foo.com") and host_matches("", "anything")
    root = Route("", "/", PREFIX, Backend("d", "s", "80"))
    assert path_matches(root, "/x") and path_matches(root, "/")
    exact = Route("", "/foo/", EXACT, Backend("d", "s", "80"))
    assert path_matches(exact, "/foo/") and not path_matches(exact, "/foo")
