"""Services, Endpoints and EndpointSlices."""

from __future__ import annotations

from kubelite.api.types import core_v1, discovery_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
    too_many,
)
from kubelite.api.validation.meta import (
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from kubelite.api.validation.probes import validate_port_num_or_name

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
SESSION_AFFINITIES = ("ClientIP", "None")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TRAFFIC_POLICIES = ("Cluster", "Local")
ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
IP_MODES = ("Proxy", "VIP")
MAX_CLIENT_IP_TIMEOUT = 86400


def _service_ports(spec: core_v1.ServiceSpec, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    ports = spec.ports or []
    seen_names: set[str] = set()
    seen_ports: set[tuple[int, str]] = set()
    for i, port in enumerate(ports):
        p = index(path, i)
        if len(ports) > 1 and not port.name:
            errs.append(required(child(p, "name")))
        elif port.name:
            errs += [invalid(child(p, "name"), port.name, m)
                     for m in names.is_dns1123_label(port.name)]
            if port.name in seen_names:
                errs.append(duplicate(child(p, "name"), port.name))
            seen_names.add(port.name)
        errs += [invalid(child(p, "port"), port.port, m) for m in names.is_valid_port_num(port.port)]
        protocol = port.protocol or ""
        if not protocol:
            errs.append(required(child(p, "protocol")))
        elif protocol not in PROTOCOLS:
            errs.append(not_supported(child(p, "protocol"), protocol, PROTOCOLS))
        if port.target_port is not None:
            errs += validate_port_num_or_name(port.target_port, child(p, "targetPort"))
        if port.node_port:
            if spec.type not in ("NodePort", "LoadBalancer"):
                errs.append(forbidden(child(p, "nodePort"),
                                      f"may not be used when `type` is '{spec.type}'"))
            else:
                errs += [invalid(child(p, "nodePort"), port.node_port, m)
                         for m in names.is_valid_port_num(port.node_port)]
        if (port.port, protocol) in seen_ports:
            errs.append(duplicate(p, f"{port.port}/{protocol}"))
        seen_ports.add((port.port, protocol))
    return errs


def validate_service(svc: core_v1.Service) -> list[FieldError]:
    errs = validate_object_meta(svc.metadata, True, names.name_is_dns1035_label)
    spec = svc.spec or core_v1.ServiceSpec()
    path = "spec"
    kind = spec.type or ""
    if kind not in SERVICE_TYPES:
        errs.append(not_supported(child(path, "type"), kind, SERVICE_TYPES))
    if kind == "ExternalName":
        if not spec.external_name:
            errs.append(required(child(path, "externalName")))
        else:
            errs += [invalid(child(path, "externalName"), spec.external_name, m)
                     for m in names.is_dns1123_subdomain(spec.external_name.rstrip("."))]
    elif not spec.ports and spec.cluster_ip != "None":
        errs.append(required(child(path, "ports")))
    errs += _service_ports(spec, child(path, "ports"))
    if spec.selector:
        errs += validate_labels(spec.selector, child(path, "selector"))
    affinity = spec.session_affinity or ""
    if affinity not in SESSION_AFFINITIES:
        errs.append(not_supported(child(path, "sessionAffinity"), affinity, SESSION_AFFINITIES))
    cfg = spec.session_affinity_config
    if affinity == "ClientIP" and cfg is not None and cfg.client_ip is not None:
        timeout = cfg.client_ip.timeout_seconds
        if timeout is not None and not 0 < timeout <= MAX_CLIENT_IP_TIMEOUT:
            errs.append(invalid(child(path, "sessionAffinityConfig", "clientIP", "timeoutSeconds"),
                                timeout, "must be greater than 0 and less than "
                                         f"{MAX_CLIENT_IP_TIMEOUT}"))
    elif affinity == "None" and cfg is not None:
        errs.append(forbidden(child(path, "sessionAffinityConfig"),
                              "must not be set when session affinity is None"))
    if spec.cluster_ip and spec.cluster_ip != "None":
        errs += [invalid(child(path, "clusterIP"), spec.cluster_ip, m)
                 for m in names.is_valid_ip(spec.cluster_ip)]
    for i, ip in enumerate(spec.external_ips or []):
        errs += [invalid(index(child(path, "externalIPs"), i), ip, m) for m in names.is_valid_ip(ip)]
    for value, field in ((spec.external_traffic_policy, "externalTrafficPolicy"),
                         (spec.internal_traffic_policy, "internalTrafficPolicy")):
        if value is not None and value not in TRAFFIC_POLICIES:
            errs.append(not_supported(child(path, field), value, TRAFFIC_POLICIES))
    return errs


def validate_service_update(new: core_v1.Service, old: core_v1.Service) -> list[FieldError]:
    errs: list[FieldError] = []
    old_ip = old.spec.cluster_ip if old.spec else None
    new_ip = new.spec.cluster_ip if new.spec else None
    if old_ip and new_ip != old_ip and not (old.spec and old.spec.type == "ExternalName"):
        errs.append(invalid(index(child("spec", "clusterIPs"), 0), new_ip,
                            "may not change once set"))
    return errs + validate_service(new)


def validate_load_balancer_status(status: core_v1.LoadBalancerStatus | None,
                                  path: str) -> list[FieldError]:
    """ValidateLoadBalancerStatus: ingress points are IPs (with an ipMode) or DNS names."""
    errs: list[FieldError] = []
    for i, ingress in enumerate(status.ingress or [] if status else []):
        p = index(child(path, "ingress"), i)
        if ingress.ip:
            errs += [invalid(child(p, "ip"), ingress.ip, m) for m in names.is_valid_ip(ingress.ip)]
        if ingress.ip_mode is not None:
            if not ingress.ip:
                errs.append(forbidden(child(p, "ipMode"), "may not be specified when `ip` is not set"))
            elif ingress.ip_mode not in IP_MODES:
                errs.append(not_supported(child(p, "ipMode"), ingress.ip_mode, IP_MODES))
        if ingress.hostname:
            errs += [invalid(child(p, "hostname"), ingress.hostname, m)
                     for m in names.is_dns1123_subdomain(ingress.hostname)]
            if not names.is_valid_ip(ingress.hostname):
                errs.append(invalid(child(p, "hostname"), ingress.hostname,
                                    "must be a DNS name, not an IP address"))
    return errs


def validate_service_status_update(new: core_v1.Service, old: core_v1.Service) -> list[FieldError]:
    """ValidateServiceStatusUpdate."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    status = new.status.load_balancer if new.status else None
    return errs + validate_load_balancer_status(status, child("status", "loadBalancer"))


def _endpoint_ports(ports: list[core_v1.EndpointPort] | list[discovery_v1.EndpointPort] | None,
                    path: str, names_required: bool = True) -> list[FieldError]:
    errs: list[FieldError] = []
    items: list[core_v1.EndpointPort | discovery_v1.EndpointPort] = list(ports or [])
    seen: set[str] = set()
    for i, port in enumerate(items):
        p = index(path, i)
        if names_required and len(items) > 1 and not port.name:
            errs.append(required(child(p, "name")))
        elif port.name:
            errs += [invalid(child(p, "name"), port.name, m)
                     for m in names.is_dns1123_label(port.name)]
        if port.name is not None:
            if port.name in seen:
                errs.append(duplicate(child(p, "name"), port.name))
            seen.add(port.name)
        if port.port is not None:
            errs += [invalid(child(p, "port"), port.port, m)
                     for m in names.is_valid_port_num(port.port)]
        protocol = port.protocol or ""
        if not protocol:
            errs.append(required(child(p, "protocol")))
        elif protocol not in PROTOCOLS:
            errs.append(not_supported(child(p, "protocol"), protocol, PROTOCOLS))
    return errs


def validate_endpoints(ep: core_v1.Endpoints) -> list[FieldError]:
    errs = validate_object_meta(ep.metadata, True, names.name_is_dns_subdomain)
    for i, subset in enumerate(ep.subsets or []):
        p = index("subsets", i)
        for field, addresses in (("addresses", subset.addresses),
                                 ("notReadyAddresses", subset.not_ready_addresses)):
            for j, addr in enumerate(addresses or []):
                ap = index(child(p, field), j)
                errs += [invalid(child(ap, "ip"), addr.ip, m) for m in names.is_valid_ip(addr.ip)]
                if addr.hostname:
                    errs += [invalid(child(ap, "hostname"), addr.hostname, m)
                             for m in names.is_dns1123_label(addr.hostname)]
        errs += _endpoint_ports(subset.ports, child(p, "ports"))
    return errs


def validate_endpoint_slice(es: discovery_v1.EndpointSlice) -> list[FieldError]:
    errs = validate_object_meta(es.metadata, True, names.name_is_dns_subdomain)
    if es.address_type not in ADDRESS_TYPES:
        errs.append(not_supported("addressType", es.address_type, ADDRESS_TYPES))
    if len(es.endpoints) > 1000:
        errs.append(too_many("endpoints", len(es.endpoints), 1000))
    for i, endpoint in enumerate(es.endpoints):
        p = index("endpoints", i)
        if not endpoint.addresses:
            errs.append(required(child(p, "addresses"), "must contain at least 1 address"))
        elif len(endpoint.addresses) > 100:
            errs.append(too_many(child(p, "addresses"), len(endpoint.addresses), 100))
        for j, addr in enumerate(endpoint.addresses):
            ap = index(child(p, "addresses"), j)
            if es.address_type in ("IPv4", "IPv6"):
                errs += [invalid(ap, addr, m) for m in names.is_valid_ip(addr)]
            elif es.address_type == "FQDN":
                errs += [invalid(ap, addr, m) for m in names.is_dns1123_subdomain(addr)]
        if endpoint.hostname:
            errs += [invalid(child(p, "hostname"), endpoint.hostname, m)
                     for m in names.is_dns1123_label(endpoint.hostname)]
    errs += _endpoint_ports(es.ports, "ports", names_required=False)
    return errs
