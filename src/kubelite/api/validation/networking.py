"""Ingress, IngressClass and NetworkPolicy validation (pkg/apis/networking/validation/validation.go)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from kubelite.api.types import networking_v1
from kubelite.api.types.meta_v1 import LabelSelector
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
    too_long,
)
from kubelite.api.validation.meta import (
    validate_immutable,
    validate_label_selector,
    validate_object_meta,
    validate_object_meta_update,
)

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
INVALID_PATH_SUFFIXES = ("/..", "/.")
CLASS_ANNOTATION = "kubernetes.io/ingress.class"  # the deprecated way to name a class
PARAMETER_SCOPES = ("Cluster", "Namespace")
MAX_CONTROLLER_LENGTH = 250
_HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+"


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _host(host: str, path: str) -> list[FieldError]:
    check = names.is_wildcard_dns1123_subdomain if "*" in host else names.is_dns1123_subdomain
    return [invalid(path, host, m) for m in check(host)]


def _typed_reference(ref: Any, path: str) -> list[FieldError]:
    """validateIngressTypedLocalObjectReference."""
    errs: list[FieldError] = []
    if ref.api_group is not None:
        errs += [invalid(child(path, "apiGroup"), ref.api_group, m)
                 for m in names.is_dns1123_subdomain(ref.api_group)]
    for field, value in (("kind", ref.kind), ("name", ref.name)):
        if not value:
            errs.append(required(child(path, field), f"{field} is required"))
        else:
            errs += [invalid(child(path, field), value, m) for m in names.name_is_path_segment(value)]
    return errs


def validate_backend(backend: networking_v1.IngressBackend, path: str) -> list[FieldError]:
    """A backend is a service (name and a port name xor number) or a resource, never both."""
    if backend.resource is not None and backend.service is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if backend.resource is not None:
        return _typed_reference(backend.resource, child(path, "resource"))
    if backend.service is None:
        return [invalid(path, "", "resource or service backend is required")]
    errs: list[FieldError] = []
    svc = backend.service
    if not svc.name:
        errs.append(required(child(path, "service", "name")))
    else:
        errs += [invalid(child(path, "service", "name"), svc.name, m)
                 for m in names.name_is_dns1035_label(svc.name)]
    port = svc.port or networking_v1.ServiceBackendPort()
    if port.name and port.number:
        errs.append(invalid(path, "", "cannot set both port name & port number"))
    elif port.name:
        errs += [invalid(child(path, "service", "port", "name"), port.name, m)
                 for m in names.is_valid_port_name(port.name)]
    elif port.number:
        errs += [invalid(child(path, "service", "port", "number"), port.number, m)
                 for m in names.is_valid_port_num(port.number)]
    else:
        errs.append(required(path, "port name or number is required"))
    return errs


def _http_path(p: networking_v1.HTTPIngressPath, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    value = p.path or ""
    where = child(path, "path")
    if p.path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            errs.append(invalid(where, value, "must be an absolute path"))
        errs += [invalid(where, value, f"must not contain '{seq}'")
                 for seq in INVALID_PATH_SEQUENCES if seq in value]
        errs += [invalid(where, value, f"cannot end with '{suffix}'")
                 for suffix in INVALID_PATH_SUFFIXES if value.endswith(suffix)]
    elif p.path_type == "ImplementationSpecific":
        if value and not value.startswith("/"):
            errs.append(invalid(where, value, "must be an absolute path"))
    else:
        errs.append(not_supported(child(path, "pathType"), p.path_type, PATH_TYPES))
    return errs + validate_backend(p.backend, child(path, "backend"))


def _rules(rules: list[networking_v1.IngressRule], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, rule in enumerate(rules):
        at = index(path, i)
        if rule.host:
            if _is_ip(rule.host):
                errs.append(invalid(child(at, "host"), rule.host, "must be a DNS name, not an IP address"))
            errs += _host(rule.host, child(at, "host"))
        if rule.http is None:
            continue
        http = child(at, "http")
        if not rule.http.paths:
            errs.append(required(child(http, "paths")))
        for j, p in enumerate(rule.http.paths):
            errs += _http_path(p, index(child(http, "paths"), j))
    return errs


def validate_ingress_spec(spec: networking_v1.IngressSpec, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not spec.rules and spec.default_backend is None:
        errs.append(invalid(path, spec.rules or [], "either `defaultBackend` or `rules` must be specified"))
    if spec.default_backend is not None:
        errs += validate_backend(spec.default_backend, child(path, "defaultBackend"))
    errs += _rules(spec.rules or [], child(path, "rules"))
    for i, tls in enumerate(spec.tls or []):
        for j, host in enumerate(tls.hosts or []):
            errs += _host(host, index(child(index(child(path, "tls"), i), "hosts"), j))
    if spec.ingress_class_name is not None:
        errs += [invalid(child(path, "ingressClassName"), spec.ingress_class_name, m)
                 for m in names.name_is_dns_subdomain(spec.ingress_class_name)]
    return errs


def validate_ingress(ing: networking_v1.Ingress) -> list[FieldError]:
    """ValidateIngressCreate: the class is named by the field or the old annotation, not both."""
    errs = validate_object_meta(ing.metadata, True, names.name_is_dns_subdomain)
    spec = ing.spec or networking_v1.IngressSpec()
    annotations = (ing.metadata.annotations if ing.metadata else None) or {}
    if spec.ingress_class_name is not None and CLASS_ANNOTATION in annotations:
        errs.append(invalid(child("annotations", CLASS_ANNOTATION), annotations[CLASS_ANNOTATION],
                            "can not be set when the class field is also set"))
    return errs + validate_ingress_spec(spec, "spec")


def validate_ingress_update(new: networking_v1.Ingress, old: networking_v1.Ingress) -> list[FieldError]:
    """ValidateIngressUpdate: the spec rules again (metadata is checked by the strategy)."""
    return validate_ingress_spec(new.spec or networking_v1.IngressSpec(), "spec")


def validate_ingress_status_update(new: networking_v1.Ingress,
                                   old: networking_v1.Ingress) -> list[FieldError]:
    """validateIngressLoadBalancerStatus: IPs are IPs, hostnames are DNS names and not IPs."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    lb = new.status.load_balancer if new.status else None
    for i, point in enumerate((lb.ingress if lb else None) or []):
        at = index(child("status", "loadBalancer", "ingress"), i)
        if point.ip:
            errs += [invalid(child(at, "ip"), point.ip, m) for m in names.is_valid_ip(point.ip)]
        if point.hostname:
            errs += [invalid(child(at, "hostname"), point.hostname, m)
                     for m in names.is_dns1123_subdomain(point.hostname)]
            if _is_ip(point.hostname):
                errs.append(invalid(child(at, "hostname"), point.hostname, "must be a DNS name, not an IP address"))
    return errs


def _domain_prefixed_path(value: str, path: str) -> list[FieldError]:
    """IsDomainPrefixedPath: `acme.io/foo`."""
    host, _, rest = value.partition("/")
    if not host or not rest:
        return [invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')]
    errs = [invalid(path, host, m) for m in names.is_dns1123_subdomain(host)]
    if not re.fullmatch(_HTTP_PATH_FMT, rest):
        errs.append(invalid(path, rest, names.regex_error("Invalid path", _HTTP_PATH_FMT)))
    return errs


def _parameters(ref: networking_v1.IngressClassParametersReference | None, path: str) -> list[FieldError]:
    if ref is None:
        return []
    errs = _typed_reference(ref, path)
    if ref.scope is None:
        return [*errs, required(child(path, "scope"))]
    if ref.scope not in PARAMETER_SCOPES:
        return [*errs, not_supported(child(path, "scope"), ref.scope, PARAMETER_SCOPES)]
    if ref.scope == "Namespace":
        if ref.namespace is None:
            errs.append(required(child(path, "namespace"), "`parameters.scope` is set to 'Namespace'"))
        else:
            errs += [invalid(child(path, "namespace"), ref.namespace, m)
                     for m in names.name_is_dns_label(ref.namespace)]
    elif ref.namespace is not None:
        errs.append(forbidden(child(path, "namespace"), "`parameters.scope` is set to 'Cluster'"))
    return errs


def validate_ingress_class(ic: networking_v1.IngressClass) -> list[FieldError]:
    errs = validate_object_meta(ic.metadata, False, names.name_is_dns_subdomain)
    spec = ic.spec or networking_v1.IngressClassSpec()
    controller = spec.controller or ""
    if len(controller) > MAX_CONTROLLER_LENGTH:
        errs.append(too_long(child("spec", "controller"), controller, MAX_CONTROLLER_LENGTH))
    errs += _domain_prefixed_path(controller, child("spec", "controller"))
    return errs + _parameters(spec.parameters, child("spec", "parameters"))


def validate_ingress_class_update(new: networking_v1.IngressClass,
                                  old: networking_v1.IngressClass) -> list[FieldError]:
    """The controller is fixed once created; the rest is checked as on create."""
    errs = validate_ingress_class(new)
    return errs + validate_immutable((new.spec.controller if new.spec else None),
                                     (old.spec.controller if old.spec else None),
                                     child("spec", "controller"))


# -- NetworkPolicy (ValidateNetworkPolicy and its helpers) ----------------------------------

PROTOCOLS = ("SCTP", "TCP", "UDP")
POLICY_TYPES = ("Egress", "Ingress")
CIDR_MESSAGE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def _cidr(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Go's ParseCIDR: an address and a prefix length; host bits may be set."""
    if "/" not in value:
        return None
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def validate_network_policy_port(port: networking_v1.NetworkPolicyPort, path: str) -> list[FieldError]:
    """A protocol of three; a numeric port may open a range up to endPort, a named one may not."""
    errs: list[FieldError] = []
    if port.protocol is not None and port.protocol not in PROTOCOLS:
        errs.append(not_supported(child(path, "protocol"), port.protocol, PROTOCOLS))
    end = port.end_port
    if port.port is None:
        if end is not None:
            errs.append(invalid(child(path, "endPort"), end, "may not be specified when `port` is not specified"))
    elif isinstance(port.port, int):
        errs += [invalid(child(path, "port"), port.port, m) for m in names.is_valid_port_num(port.port)]
        if end is not None:
            if end < port.port:
                errs.append(invalid(child(path, "endPort"), port.port, "must be greater than or equal to `port`"))
            errs += [invalid(child(path, "endPort"), end, m) for m in names.is_valid_port_num(end)]
    else:
        if end is not None:
            errs.append(invalid(child(path, "endPort"), end, "may not be specified when `port` is non-numeric"))
        errs += [invalid(child(path, "port"), port.port, m) for m in names.is_valid_port_name(port.port)]
    return errs


def validate_ip_block(block: networking_v1.IPBlock, path: str) -> list[FieldError]:
    """A CIDR, and excepts that are strict subsets of it."""
    if not block.cidr:
        return [required(child(path, "cidr"), "")]
    cidr = _cidr(block.cidr)
    if cidr is None:
        return [invalid(child(path, "cidr"), block.cidr, CIDR_MESSAGE)]
    errs: list[FieldError] = []
    for i, value in enumerate(block.except_ or []):
        at = index(child(path, "except"), i)
        sub = _cidr(value)
        if sub is None:
            errs.append(invalid(at, value, CIDR_MESSAGE))
        elif sub.version != cidr.version or not sub.subnet_of(cidr) or sub.prefixlen <= cidr.prefixlen:  # type: ignore[arg-type]
            errs.append(invalid(at, value, "must be a strict subset of `cidr`"))
    return errs


def validate_network_policy_peer(peer: networking_v1.NetworkPolicyPeer, path: str) -> list[FieldError]:
    """At least one of podSelector, namespaceSelector, ipBlock; ipBlock only alone."""
    errs: list[FieldError] = []
    count = 0
    if peer.pod_selector is not None:
        count += 1
        errs += validate_label_selector(peer.pod_selector, child(path, "podSelector"))
    if peer.namespace_selector is not None:
        count += 1
        errs += validate_label_selector(peer.namespace_selector, child(path, "namespaceSelector"))
    if peer.ip_block is not None:
        count += 1
        errs += validate_ip_block(peer.ip_block, child(path, "ipBlock"))
    if count == 0:
        errs.append(required(path, "must specify a peer"))
    elif count > 1 and peer.ip_block is not None:
        errs.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return errs


def _policy_rules(rules: list[Any], path: str, peers_field: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, rule in enumerate(rules):
        at = index(path, i)
        for j, port in enumerate(rule.ports or []):
            errs += validate_network_policy_port(port, index(child(at, "ports"), j))
        for j, peer in enumerate(getattr(rule, peers_field) or []):
            errs += validate_network_policy_peer(peer, index(child(at, "from" if peers_field == "from_" else "to"), j))
    return errs


def validate_network_policy_spec(spec: networking_v1.NetworkPolicySpec, path: str) -> list[FieldError]:
    errs = validate_label_selector(spec.pod_selector, child(path, "podSelector"))
    errs += _policy_rules(spec.ingress or [], child(path, "ingress"), "from_")
    errs += _policy_rules(spec.egress or [], child(path, "egress"), "to")
    types = spec.policy_types or []
    if len(types) > len(POLICY_TYPES):
        return [*errs, invalid(child(path, "policyTypes"), types, "may not specify more than two policyTypes")]
    for i, kind in enumerate(types):
        if kind not in POLICY_TYPES:
            errs.append(not_supported(index(child(path, "policyTypes"), i), kind, ("Ingress", "Egress")))
    return errs


def _policy_spec(np: networking_v1.NetworkPolicy) -> networking_v1.NetworkPolicySpec:
    return np.spec or networking_v1.NetworkPolicySpec(pod_selector=LabelSelector())


def validate_network_policy(np: networking_v1.NetworkPolicy) -> list[FieldError]:
    errs = validate_object_meta(np.metadata, True, names.name_is_dns_subdomain)
    return errs + validate_network_policy_spec(_policy_spec(np), "spec")


def validate_network_policy_update(new: networking_v1.NetworkPolicy,
                                   old: networking_v1.NetworkPolicy) -> list[FieldError]:
    """ValidateNetworkPolicyUpdate: the spec again (metadata is checked by the strategy)."""
    return validate_network_policy_spec(_policy_spec(new), "spec")
