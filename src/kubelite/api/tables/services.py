"""`kubectl get services`, `endpoints` and `endpointslices`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.tables._base import (
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    doc,
    format_labels,
    list_with_more,
    name,
    name_column,
    spec,
    status,
)

SERVICE_SPEC = "io.k8s.api.core.v1.ServiceSpec"
ENDPOINT_SLICE = "io.k8s.api.discovery.v1.EndpointSlice"

# LoadBalancer ingress addresses are clipped to this width outside `-o wide`; the
# server always prints wide, so this only documents Kubernetes' constant.
LOAD_BALANCER_WIDTH = 16

SERVICE_COLUMNS = columns(
    name_column(),
    Column("Type", "string", doc(SERVICE_SPEC, "type")),
    Column("Cluster-IP", "string", doc(SERVICE_SPEC, "clusterIP")),
    Column("External-IP", "string", doc(SERVICE_SPEC, "externalIPs")),
    Column("Port(s)", "string", doc(SERVICE_SPEC, "ports")),
    age_column(),
    Column("Selector", "string", doc(SERVICE_SPEC, "selector"), priority=1),
)


def _service_type(svc_spec: Obj) -> str:
    # The apiserver defaults spec.type to ClusterIP.
    kind: str = svc_spec.get("type") or "ClusterIP"
    return kind


def load_balancer_ips(svc: Obj) -> str:
    """status.loadBalancer.ingress as `ip,hostname,...` (a Service's or an Ingress's)."""
    found: set[str] = set()
    for ingress in (status(svc).get("loadBalancer") or {}).get("ingress") or []:
        if ingress.get("ip"):
            found.add(ingress["ip"])
        elif ingress.get("hostname"):
            found.add(ingress["hostname"])
    return ",".join(sorted(found))


def external_ip(svc: Obj) -> str:
    """getServiceExternalIP, wide."""
    svc_spec = spec(svc)
    external = svc_spec.get("externalIPs") or []
    kind = _service_type(svc_spec)
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        lb = load_balancer_ips(svc)
        if external:
            return ",".join([*(lb.split(",") if lb else []), *external])
        return lb or "<pending>"
    if kind == "ExternalName":
        ext_name: str = svc_spec.get("externalName") or ""
        return ext_name
    return "<unknown>"


def port_string(ports: list[Obj]) -> str:
    """makePortString: `80/TCP`, `80:30080/TCP`, comma-joined."""
    pieces = []
    for p in ports:
        protocol = p.get("protocol") or "TCP"
        node_port = p.get("nodePort") or 0
        if node_port > 0:
            pieces.append(f"{p.get('port', 0)}:{node_port}/{protocol}")
        else:
            pieces.append(f"{p.get('port', 0)}/{protocol}")
    return ",".join(pieces)


def _cluster_ip(svc_spec: Obj) -> str:
    # The v1 -> internal conversion makes clusterIP authoritative over clusterIPs[0].
    if svc_spec.get("clusterIP"):
        ip: str = svc_spec["clusterIP"]
        return ip
    ips = svc_spec.get("clusterIPs") or []
    return str(ips[0]) if ips else "<none>"


def service_row(svc: Obj, now: dt.datetime) -> list[Any]:
    svc_spec = spec(svc)
    return [
        name(svc), _service_type(svc_spec), _cluster_ip(svc_spec), external_ip(svc),
        port_string(svc_spec.get("ports") or []) or "<none>", age(svc, now),
        format_labels(svc_spec.get("selector")),
    ]


ENDPOINTS_COLUMNS = columns(
    name_column(),
    Column("Endpoints", "string", doc("io.k8s.api.core.v1.Endpoints", "subsets")),
    age_column(),
)


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_endpoints(endpoints: Obj, limit: int = 3) -> str:
    """formatEndpoints: `10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...`."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    more, count = False, 0
    for subset in subsets:
        addresses = subset.get("addresses") or []
        ports = subset.get("ports") or []
        if not ports:  # headless services may have no ports
            count += len(addresses)
            for a in addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(a.get("ip") or "")
            continue
        for port in ports:
            count += len(addresses)
            for a in addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(_join_host_port(a.get("ip") or "", port.get("port") or 0))
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


def endpoints_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [name(obj), format_endpoints(obj), age(obj, now)]


ENDPOINT_SLICE_COLUMNS = columns(
    name_column(),
    Column("AddressType", "string", doc(ENDPOINT_SLICE, "addressType")),
    Column("Ports", "string", doc(ENDPOINT_SLICE, "ports")),
    Column("Endpoints", "string", doc(ENDPOINT_SLICE, "endpoints")),
    age_column(),
)


def _slice_ports(ports: list[Obj], limit: int = 3) -> str:
    shown: list[str] = []
    for p in ports[:limit]:
        if p.get("port") is not None:
            shown.append(str(p["port"]))
        elif p.get("name") is not None:
            shown.append(p["name"])
        else:
            shown.append("*")
    return list_with_more(shown, len(ports) > limit, len(ports), limit)


def _slice_endpoints(endpoints: list[Obj], limit: int = 3) -> str:
    addresses = [a for e in endpoints for a in e.get("addresses") or []]
    return list_with_more(addresses[:limit], len(addresses) > limit, len(addresses), limit)


def endpoint_slice_row(obj: Obj, now: dt.datetime) -> list[Any]:
    return [
        name(obj), obj.get("addressType") or "", _slice_ports(obj.get("ports") or []),
        _slice_endpoints(obj.get("endpoints") or []), age(obj, now),
    ]


SERVICE = Printer(SERVICE_COLUMNS, service_row)
ENDPOINTS = Printer(ENDPOINTS_COLUMNS, endpoints_row)
ENDPOINT_SLICE_PRINTER = Printer(ENDPOINT_SLICE_COLUMNS, endpoint_slice_row)
