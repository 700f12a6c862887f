"""This node's DNS server as an endpoint of the cluster DNS Service, kube-system/kube-dns.

Every agent runs cluster DNS on its pod bridge's gateway and publishes it in an EndpointSlice
of its own (`kube-dns-<node>`, owned by its Node, so deleting the Node removes it). The
Service has `internalTrafficPolicy: Local`, so the service proxy of each node sends the DNS
ClusterIP to that node's own server, as NodeLocal DNSCache does, and pods on any node resolve
through the same fixed address.
"""

from __future__ import annotations

from typing import Any

from kubelite.client import ApiClient, NotFound

KUBE_DNS = "kube-dns"
KUBE_SYSTEM = "kube-system"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "kubelite-agent"  # not the EndpointSlice controller's: it leaves the slice alone
PORTS = (("dns", "UDP"), ("dns-tcp", "TCP"))  # the names of the Service's ports


def dns_slice(node: dict[str, Any], address: str, port: int) -> dict[str, Any]:
    """The EndpointSlice naming `address:port` as node's DNS endpoint."""
    meta = node["metadata"]
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {
            "name": f"{KUBE_DNS}-{meta['name']}"[:253], "namespace": KUBE_SYSTEM,
            "labels": {SERVICE_NAME_LABEL: KUBE_DNS, MANAGED_BY_LABEL: MANAGED_BY},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": meta["name"],
                                 "uid": meta["uid"]}],
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [address], "nodeName": meta["name"],
                       "conditions": {"ready": True, "serving": True, "terminating": False}}],
        "ports": [{"name": name, "port": port, "protocol": proto} for name, proto in PORTS],
    }


async def publish(client: ApiClient, node_name: str, address: str, port: int) -> None:
    """Create or refresh this node's kube-dns EndpointSlice."""
    node = await client.get("nodes", node_name, raw=True)
    body = dns_slice(node, address, port)
    try:
        current = await client.get("endpointslices", body["metadata"]["name"], KUBE_SYSTEM, raw=True)
    except NotFound:
        await client.create("endpointslices", body, KUBE_SYSTEM, raw=True)
        return
    if all(current.get(k) == body[k] for k in ("endpoints", "ports", "addressType")) and \
            current["metadata"].get("ownerReferences") == body["metadata"]["ownerReferences"]:
        return
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    await client.update("endpointslices", body, raw=True)
