"""What the proxy programs: each Service port with its virtual addresses and ready endpoints.

Built from raw Service and EndpointSlice dicts (as the informers hold them), independent of
nftables, so the translation from Kubernetes objects is tested on its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    node_name: str = ""  # the node it runs on (EndpointSlice `nodeName`): for the Local policies


@dataclass(frozen=True)
class ServicePort:
    """One port of one Service: where clients connect, and where traffic goes."""

    namespace: str
    name: str
    port_name: str
    protocol: str  # TCP | UDP | SCTP
    cluster_ip: str
    port: int
    node_port: int = 0
    affinity_timeout: int = 0  # seconds of ClientIP session affinity; 0: none
    endpoints: tuple[Endpoint, ...] = field(default=())
    internal_local: bool = False  # internalTrafficPolicy: Local (ClusterIP traffic)
    external_local: bool = False  # externalTrafficPolicy: Local (NodePort traffic)
    load_balancer: bool = False  # type LoadBalancer, no loadBalancerClass: `port` on node addresses

    @property
    def id(self) -> str:
        """A short stable identifier, used to name the nft chains of this Service port."""
        text = f"{self.namespace}/{self.name}/{self.protocol}/{self.port_name}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def l4(self) -> str:
        return PROTOCOLS[self.protocol]


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def slice_endpoints(slices: list[Obj], port_name: str, protocol: str) -> tuple[Endpoint, ...]:
    """Ready endpoints of a Service port; the serving terminating ones if none is ready."""
    ready: set[Endpoint] = set()
    draining: set[Endpoint] = set()
    for es in slices:
        if es.get("addressType", "IPv4") != "IPv4":
            continue
        number = next((p.get("port") for p in es.get("ports") or []
                       if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol), None)
        if not number:
            continue
        for endpoint in es.get("endpoints") or []:
            cond = endpoint.get("conditions") or {}
            node = endpoint.get("nodeName") or ""
            targets = {Endpoint(ip, int(number), node) for ip in endpoint.get("addresses") or []}
            if cond.get("ready", True):
                ready |= targets
            elif cond.get("serving") and cond.get("terminating"):
                draining |= targets
    return tuple(sorted(ready or draining))


def service_ports(svc: Obj, slices: list[Obj]) -> list[ServicePort]:
    """The ServicePorts of one Service (none for headless and ExternalName Services)."""
    spec = svc.get("spec") or {}
    cluster_ip = spec.get("clusterIP") or ""
    if spec.get("type") == "ExternalName" or cluster_ip in ("", "None"):
        return []
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        affinity = int(config.get("timeoutSeconds") or 10800)
    m = _meta(svc)
    # k3s' ServiceLB: every node answers on the Service's ports at its own addresses
    load_balancer = spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")
    out = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if protocol not in PROTOCOLS:
            continue
        name = port.get("name") or ""
        out.append(ServicePort(
            namespace=m.get("namespace", ""), name=m.get("name", ""), port_name=name, protocol=protocol,
            cluster_ip=cluster_ip, port=int(port["port"]), node_port=int(port.get("nodePort") or 0),
            affinity_timeout=affinity, endpoints=slice_endpoints(slices, name, protocol),
            internal_local=spec.get("internalTrafficPolicy") == "Local",
            external_local=spec.get("externalTrafficPolicy") == "Local", load_balancer=load_balancer))
    return out


def cluster_model(services: list[Obj], slices: list[Obj]) -> list[ServicePort]:
    """Every ServicePort of the cluster, in a stable order."""
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for es in slices:
        owner = (_meta(es).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            by_service.setdefault((_meta(es).get("namespace", ""), owner), []).append(es)
    out: list[ServicePort] = []
    for svc in services:
        m = _meta(svc)
        out += service_ports(svc, by_service.get((m.get("namespace", ""), m.get("name", "")), []))
    return sorted(out, key=lambda p: (p.namespace, p.name, p.protocol, p.port_name))
