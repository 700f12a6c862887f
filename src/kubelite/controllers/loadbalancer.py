"""The addresses of the load balancers kubelite's nodes are: every Ready node answers on the
ports of LoadBalancer Services (proxy/ruleset.py) and of Ingresses (ingress/), so the status of
those objects lists the nodes' addresses, as k3s' ServiceLB does: a node's ExternalIP if it has
one, else its InternalIP. Pure helpers shared by servicelb.py and ingress_status.py."""

from __future__ import annotations

from typing import Any

from kubelite.controllers.podutil import is_ready, meta

Obj = dict[str, Any]


def node_address(node: Obj) -> str:
    """ExternalIP, else InternalIP ("" when it has neither)."""
    addresses = (node.get("status") or {}).get("addresses") or []
    for kind in ("ExternalIP", "InternalIP"):
        for a in addresses:
            if a.get("type") == kind and a.get("address"):
                return str(a["address"])
    return ""


def node_addresses(nodes: list[Obj], only: set[str] | None = None, annotated: str = "") -> list[str]:
    """The addresses of the Ready nodes (of those named in `only`, if given; of those with the
    annotation `annotated`, if given), sorted, once each."""
    found = {node_address(n) for n in nodes
             if is_ready(n) and (only is None or meta(n).get("name") in only)
             and (not annotated or (meta(n).get("annotations") or {}).get(annotated))}
    found.discard("")
    return sorted(found, key=_ip_order)


def _ip_order(ip: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in ip.split("."))
    except ValueError:
        return (1 << 16,)


def current_ips(obj: Obj) -> list[str]:
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [str(i.get("ip") or i.get("hostname") or "") for i in ingress]
