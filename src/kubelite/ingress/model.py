"""The routing table of the built-in Ingress controller, from raw API objects.

Pure: Ingresses, IngressClasses, Services and EndpointSlices (dicts as the informers hold them)
in, an ordered list of routes out. The proxy's configuration (haproxy.py) is rendered from it,
so what routes where is tested without a proxy.

Which Ingresses are ours: `spec.ingressClassName` naming an IngressClass whose controller is
CONTROLLER, the old `kubernetes.io/ingress.class` annotation naming such a class, or no class
at all while our class is the default (Ingresses made before the class existed).

Precedence, first match wins: exact hosts, then wildcard hosts (`*.foo.com`: one label, as
Kubernetes specifies), then rules without a host; within those the longest path, Exact before
Prefix at equal length; then the older Ingress. A request matching no rule goes to the
oldest Ingress's `defaultBackend`, else the proxy answers 404. ImplementationSpecific paths
are Prefix paths here. Prefix matching is per path element (`/foo` matches `/foo`, `/foo/`
and `/foo/bar`, never `/foobar`), a trailing slash ignored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from kubelite.proxy.model import SERVICE_NAME_LABEL, Endpoint, slice_endpoints

Obj = dict[str, Any]
CONTROLLER = "kubelite.io/ingress-controller"
CLASS_NAME = "kubelite"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"
EXACT, PREFIX = "Exact", "Prefix"
# On a Node, by its agent: "HTTP,HTTPS" ports its Ingress proxy listens on (absent: none), so
# that only serving nodes are listed in the Ingresses' status.
PORTS_ANNOTATION = "kubelite.io/ingress-ports"


@dataclass(frozen=True)
class Backend:
    """A Service port of one namespace and its ready endpoints (pod IPs)."""

    namespace: str
    service: str
    port: str  # the Ingress's port: a number or a name, as text
    endpoints: tuple[Endpoint, ...] = ()

    @property
    def id(self) -> str:
        """A short name for the proxy's backend section, stable across syncs."""
        text = f"{self.namespace}/{self.service}/{self.port}"
        return f"{self.namespace[:20]}-{self.service[:20]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class Route:
    host: str  # "" for every host; "*.foo.com" for one label under foo.com
    path: str  # "/" matches everything (Prefix)
    path_type: str  # EXACT | PREFIX
    backend: Backend


@dataclass(frozen=True)
class TlsEntry:
    """A certificate Secret and the SNI names it serves (empty: the certificate's own)."""

    namespace: str
    secret: str
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    routes: tuple[Route, ...]
    default: Backend | None
    tls: tuple[TlsEntry, ...]


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def our_classes(classes: list[Obj]) -> tuple[set[str], bool]:
    """The names of the IngressClasses this controller implements, and whether one is the default."""
    names = {_meta(c).get("name", "") for c in classes if (c.get("spec") or {}).get("controller") == CONTROLLER}
    default = any(_meta(c).get("name") in names
                  and (_meta(c).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
                  for c in classes)
    return names, default


def is_ours(ingress: Obj, names: set[str], default: bool) -> bool:
    cls = (ingress.get("spec") or {}).get("ingressClassName")
    if cls is None:
        cls = (_meta(ingress).get("annotations") or {}).get(CLASS_ANNOTATION)
    return cls in names if cls is not None else default


def host_rank(host: str) -> int:
    """0 exact, 1 wildcard, 2 any host."""
    return 2 if not host else 1 if host.startswith("*.") else 0


def normalize_prefix(path: str) -> str:
    """A Prefix path without its trailing slashes ("/" for the root)."""
    return path.rstrip("/") or "/"


def route_order(route: Route, age: int) -> tuple[int, int, int, int]:
    return (host_rank(route.host), -len(route.path), 0 if route.path_type == EXACT else 1, age)


def _service_port(service: Obj, port: Obj) -> Obj | None:
    """The Service's port an Ingress backend names (by `number` or `name`)."""
    for sp in (service.get("spec") or {}).get("ports") or []:
        if "number" in port and sp.get("port") == port["number"]:
            return sp  # type: ignore[no-any-return]
        if "name" in port and (sp.get("name") or "") == port["name"]:
            return sp  # type: ignore[no-any-return]
    return None


class _Resolver:
    """Backends from Services and EndpointSlices, indexed once per table."""

    def __init__(self, services: list[Obj], slices: list[Obj]) -> None:
        self.services = {(_meta(s).get("namespace", ""), _meta(s).get("name", "")): s for s in services}
        self.slices: dict[tuple[str, str], list[Obj]] = {}
        for es in slices:
            owner = (_meta(es).get("labels") or {}).get(SERVICE_NAME_LABEL)
            if owner:
                self.slices.setdefault((_meta(es).get("namespace", ""), owner), []).append(es)

    def backend(self, namespace: str, spec: Obj | None) -> Backend | None:
        svc_ref = (spec or {}).get("service")
        if not svc_ref or not svc_ref.get("name"):
            return None  # a `resource` backend: not served
        port = svc_ref.get("port") or {}
        label = str(port.get("number") if "number" in port else port.get("name", ""))
        backend = Backend(namespace, svc_ref["name"], label)
        service = self.services.get((namespace, svc_ref["name"]))
        if service is None or (service.get("spec") or {}).get("type") == "ExternalName":
            return backend  # no endpoints: the proxy answers 503
        sp = _service_port(service, port)
        if sp is None or (sp.get("protocol") or "TCP") != "TCP":
            return backend
        endpoints = slice_endpoints(self.slices.get((namespace, svc_ref["name"]), []), sp.get("name") or "", "TCP")
        return Backend(namespace, svc_ref["name"], label, endpoints)


def _age(ingress: Obj) -> tuple[str, str, str]:
    m = _meta(ingress)
    return (m.get("creationTimestamp") or "", m.get("namespace", ""), m.get("name", ""))


def build(ingresses: list[Obj], classes: list[Obj], services: list[Obj], slices: list[Obj]) -> Table:
    """The routing table of every Ingress this controller implements."""
    names, default = our_classes(classes)
    ours = sorted((i for i in ingresses if is_ours(i, names, default) and not _meta(i).get("deletionTimestamp")),
                  key=_age)
    resolver = _Resolver(services, slices)
    ordered: list[tuple[tuple[int, int, int, int], Route]] = []
    default_backend: Backend | None = None
    tls: list[TlsEntry] = []
    for age, ingress in enumerate(ours):
        namespace = _meta(ingress).get("namespace", "")
        spec = ingress.get("spec") or {}
        if default_backend is None and spec.get("defaultBackend"):
            default_backend = resolver.backend(namespace, spec["defaultBackend"])
        for entry in spec.get("tls") or []:
            if entry.get("secretName"):
                tls.append(TlsEntry(namespace, entry["secretName"], tuple(entry.get("hosts") or ())))
        for rule in spec.get("rules") or []:
            host = (rule.get("host") or "").lower()
            for path in (rule.get("http") or {}).get("paths") or []:
                backend = resolver.backend(namespace, path.get("backend"))
                if backend is None:
                    continue
                kind = EXACT if path.get("pathType") == EXACT else PREFIX
                value = path.get("path") or "/"
                route = Route(host, value if kind == EXACT else normalize_prefix(value), kind, backend)
                ordered.append((route_order(route, age), route))
    ordered.sort(key=lambda pair: pair[0])
    return Table(tuple(route for _, route in ordered), default_backend, tuple(tls))


def host_matches(pattern: str, host: str) -> bool:
    """Kubernetes' host match: exact, or `*.foo.com` for exactly one more label."""
    if not pattern:
        return True
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return host == pattern


def path_matches(route: Route, path: str) -> bool:
    if route.path_type == EXACT:
        return path == route.path
    return route.path == "/" or path == route.path or path.startswith(route.path + "/")


def lookup(table: Table, host: str, path: str) -> Backend | None:
    """Where a request goes: the reference the proxy's configuration must agree with."""
    host = host.split(":", 1)[0].lower()
    for route in table.routes:
        if host_matches(route.host, host) and path_matches(route, path):
            return route.backend
    return table.default
