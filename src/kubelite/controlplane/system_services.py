"""The Services the control plane keeps: default/kubernetes and kube-system/kube-dns.

`kubernetes` is kube-apiserver's (pkg/controlplane/controller/kubernetesservice): the first
address of the service range, port 443 named https to the API server's port, no selector; a
change to its ports or type is reset. `kube-dns` is the cluster DNS Service kubeadm and k3s
create: the tenth address, 53/UDP `dns` and 53/TCP `dns-tcp`; its endpoints are the nodes' own
DNS servers (dns/node_endpoint.py), hence `internalTrafficPolicy: Local` and no selector.
"""

from __future__ import annotations

from typing import Any

from kubelite.client import AlreadyExists, ApiClient, NotFound
from kubelite.service_ips import dns_service_ip, kubernetes_service_ip

KUBERNETES = "kubernetes"
KUBE_DNS = "kube-dns"
HTTPS_PORT = 443
PORT_NAME = "https"


def in_cluster_names(service_cidr: str, domain: str = "cluster.local") -> list[str]:
    """What the API server's certificate must cover for in-cluster clients (kubeadm's list)."""
    names = [KUBERNETES, f"{KUBERNETES}.default", f"{KUBERNETES}.default.svc",
             f"{KUBERNETES}.default.svc.{domain}"]
    return [*names, kubernetes_service_ip(service_cidr)]


def kubernetes_service(service_cidr: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": KUBERNETES, "namespace": "default",
                     "labels": {"provider": "kubernetes", "component": "apiserver"}},
        "spec": {"type": "ClusterIP", "clusterIP": kubernetes_service_ip(service_cidr),
                 "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
                 "ports": [{"name": PORT_NAME, "protocol": "TCP", "port": HTTPS_PORT,
                            "targetPort": port}]},
    }


def kube_dns_service(service_cidr: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": KUBE_DNS, "namespace": "kube-system",
                     "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                "kubernetes.io/name": "CoreDNS"}},
        "spec": {"type": "ClusterIP", "clusterIP": dns_service_ip(service_cidr),
                 "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Local",
                 "ports": [{"name": "dns", "protocol": "UDP", "port": 53, "targetPort": 53},
                           {"name": "dns-tcp", "protocol": "TCP", "port": 53, "targetPort": 53}]},
    }


def _needs_reset(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """kube-apiserver's getMasterServiceUpdateIfNeeded: the ports and the type."""
    have, want = current.get("spec") or {}, wanted["spec"]
    if have.get("type") != want["type"] or len(have.get("ports") or []) != len(want["ports"]):
        return True
    return any(any(h.get(k) != w[k] for k in ("name", "protocol", "port", "targetPort"))
               for h, w in zip(have["ports"], want["ports"], strict=True))


async def ensure_service(client: ApiClient, wanted: dict[str, Any], *, reset: bool) -> None:
    """Create the Service if missing; with `reset`, put its ports and type back if changed."""
    meta = wanted["metadata"]
    try:
        current = await client.get("services", meta["name"], meta["namespace"], raw=True)
    except NotFound:
        try:
            await client.create("services", wanted, meta["namespace"], raw=True)
        except AlreadyExists:
            pass  # another API server made it first
        return
    if reset and _needs_reset(current, wanted):
        spec = current["spec"]
        spec["type"], spec["ports"] = wanted["spec"]["type"], wanted["spec"]["ports"]
        for key in ("externalTrafficPolicy", "allocateLoadBalancerNodePorts"):
            spec.pop(key, None)
        await client.update("services", current, raw=True)
